#!/usr/bin/env bash
# K3s agent: joins the cluster (offline from the cache when it can), then
# fetches the server's current nodecast image and imports it, on every
# provision, unless a pushed image (NODECAST_IMAGE) is used.
set -euo pipefail
# shellcheck source=lib.sh
. /nodecast/vagrant/provision/lib.sh
require_env NODE_IP SERVER_IP K3S_TOKEN K3S_VERSION

iface="$(iface_for_ip "$NODE_IP")"
INSTALL_K3S_VERSION="$K3S_VERSION" K3S_TOKEN="$K3S_TOKEN" K3S_URL="https://$SERVER_IP:6443" \
    install_k3s agent --node-ip "$NODE_IP" --flannel-iface "$iface"
echo "provision: $(hostname) joined https://$SERVER_IP:6443"
import_cached_images

if [[ -z "${NODECAST_IMAGE:-}" ]]; then
    dir=/var/lib/nodecast-image
    mkdir -p "$dir"
    base="http://$SERVER_IP:$IMAGE_PORT"
    echo "provision: waiting for the server's image at $base"
    # With parallel providers (libvirt) the server may still be building it.
    got=0
    for _ in $(seq 1 720); do
        if curl -fsS -o "$dir/image-ref" "$base/image-ref" &&
            curl -fsS -o "$dir/nodecast.tar.part" "$base/nodecast.tar"; then
            mv "$dir/nodecast.tar.part" "$dir/nodecast.tar"
            got=1
            break
        fi
        sleep 5
    done
    ((got)) || { echo "provision: no image from $base after 60 min" >&2; exit 1; }
    ref="$(cat "$dir/image-ref")"
    # The name must match the bytes: a tarball swapped mid-download fails here.
    [[ "$(image_ref "$dir/nodecast.tar")" == "$ref" ]] ||
        { echo "provision: image does not match $ref; re-run provisioning" >&2; exit 1; }
    import_image "$dir/nodecast.tar" "$ref"
fi
