#!/usr/bin/env bash
# K3s server: builds (or takes) the nodecast image, installs K3s, and drops
# nodecast, Prometheus and Grafana into K3s' auto-deploy manifests directory.
set -euo pipefail
# shellcheck source=lib.sh
. /nodecast/vagrant/provision/lib.sh
require_env NODE_IP K3S_TOKEN K3S_VERSION
repo=/nodecast
image="${NODECAST_IMAGE:-}"

# ---- image ------------------------------------------------------------------
if [[ -z "$image" ]]; then
    image="$LOCAL_IMAGE"
    mkdir -p "$K3S_IMAGES_DIR" /srv/nodecast-image
    if [[ ! -s /srv/nodecast-image/nodecast.tar ]]; then
        echo "provision: building $image from k3s/Containerfile (several minutes)"
        apt-get install -y -qq podman >/dev/null
        # The synced copy already lacks target/ and .git/ (rsync__exclude), so
        # no ignore file is needed here.
        podman build -f "$repo/k3s/Containerfile" -t "$image" "$repo"
        podman save --format docker-archive -o /srv/nodecast-image/nodecast.tar "$image"
    fi
    cp /srv/nodecast-image/nodecast.tar "$K3S_IMAGES_DIR/nodecast.tar"
    # Agents fetch the same tarball over the private network.
    systemctl stop nodecast-image-http 2>/dev/null || true
    systemd-run --unit nodecast-image-http --collect \
        python3 -m http.server "$IMAGE_PORT" --bind "$NODE_IP" --directory /srv/nodecast-image
fi

# ---- K3s ---------------------------------------------------------------------
iface="$(iface_for_ip "$NODE_IP")"
if ! command -v k3s >/dev/null; then
    curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION="$K3S_VERSION" K3S_TOKEN="$K3S_TOKEN" \
        sh -s - server --node-ip "$NODE_IP" --advertise-address "$NODE_IP" \
        --flannel-iface "$iface" --tls-san "$NODE_IP" --write-kubeconfig-mode 0644
fi
until k3s kubectl get nodes >/dev/null 2>&1; do sleep 2; done

# ---- manifests (auto-deployed and kept in sync by K3s) ------------------------
"$repo/vagrant/provision/render-manifests.sh" "$repo" "$image" "$K3S_MANIFESTS_DIR"

echo "provision: waiting for the nodecast DaemonSet"
until k3s kubectl -n nodecast get ds nodecast >/dev/null 2>&1; do sleep 2; done
k3s kubectl -n nodecast rollout status ds/nodecast --timeout=15m
k3s kubectl -n monitoring rollout status deploy/prometheus --timeout=10m
k3s kubectl -n monitoring rollout status deploy/grafana --timeout=10m

cat <<MSG
provision: test bed server ready.
  Prometheus  http://$NODE_IP:30090   (Status > Targets: one nodecast target per node)
  Grafana     http://$NODE_IP:30030   (anonymous viewer; admin/admin) dashboard "nodecast"
  Metrics     http://$NODE_IP:9847/metrics   (every node, host network)
  kubectl     vagrant ssh server -c 'kubectl -n nodecast get pods -o wide'
MSG
