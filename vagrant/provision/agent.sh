#!/usr/bin/env bash
# K3s agent: fetches the nodecast image from the server (unless a pushed
# image is used), then joins the cluster.
set -euo pipefail
# shellcheck source=lib.sh
. /nodecast/vagrant/provision/lib.sh
require_env NODE_IP SERVER_IP K3S_TOKEN K3S_VERSION

if [[ -z "${NODECAST_IMAGE:-}" ]]; then
    mkdir -p "$K3S_IMAGES_DIR"
    url="http://$SERVER_IP:$IMAGE_PORT/nodecast.tar"
    echo "provision: waiting for the server's image at $url"
    # With parallel providers (libvirt) the server may still be building it.
    for _ in $(seq 1 720); do
        if curl -fsS -o "$K3S_IMAGES_DIR/nodecast.tar.part" "$url"; then
            mv "$K3S_IMAGES_DIR/nodecast.tar.part" "$K3S_IMAGES_DIR/nodecast.tar"
            break
        fi
        sleep 5
    done
    [[ -s "$K3S_IMAGES_DIR/nodecast.tar" ]] || { echo "provision: no image from $url after 60 min" >&2; exit 1; }
    # Already running K3s only imports at start; import explicitly then.
    if command -v k3s >/dev/null; then
        k3s ctr -n k8s.io images import "$K3S_IMAGES_DIR/nodecast.tar"
    fi
fi

iface="$(iface_for_ip "$NODE_IP")"
if ! command -v k3s >/dev/null; then
    curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION="$K3S_VERSION" K3S_TOKEN="$K3S_TOKEN" \
        K3S_URL="https://$SERVER_IP:6443" \
        sh -s - agent --node-ip "$NODE_IP" --flannel-iface "$iface"
fi
echo "provision: $(hostname) joined https://$SERVER_IP:6443"
