#!/usr/bin/env bash
# K3s server: builds (or takes from the cache, or from NODECAST_IMAGE) the
# nodecast image on every provision, installs K3s (offline from the cache
# when it can), imports the image, and drops nodecast, Prometheus and
# Grafana into K3s' auto-deploy manifests directory.
set -euo pipefail
# shellcheck source=lib.sh
. /nodecast/vagrant/provision/lib.sh
require_env NODE_IP K3S_TOKEN K3S_VERSION
repo=/nodecast
image="${NODECAST_IMAGE:-}"
served=/srv/nodecast-image

# ---- image: rebuilt (or re-read from the cache) on every provision -----------
if [[ -z "$image" ]]; then
    mkdir -p "$served"
    if [[ -s "$CACHE_DIR/nodecast.tar" ]]; then
        echo "provision: nodecast image from $CACHE_DIR/nodecast.tar"
        cp "$CACHE_DIR/nodecast.tar" "$served/nodecast.tar.part"
    else
        echo "provision: building $LOCAL_IMAGE from k3s/Containerfile (several minutes)"
        command -v podman >/dev/null || apt-get install -y -qq podman >/dev/null
        # The synced copy already lacks target/ and .git/ (rsync__exclude), so
        # no ignore file is needed here.
        podman build -f "$repo/k3s/Containerfile" -t "$LOCAL_IMAGE" "$repo"
        rm -f "$served/nodecast.tar.part"
        podman save --format docker-archive -o "$served/nodecast.tar.part" "$LOCAL_IMAGE"
    fi
    mv "$served/nodecast.tar.part" "$served/nodecast.tar"
    image="$(image_ref "$served/nodecast.tar")"
    # Agents fetch the same tarball and its name over the private network.
    echo "$image" >"$served/image-ref"
    systemctl stop nodecast-image-http 2>/dev/null || true
    systemd-run --unit nodecast-image-http --collect \
        python3 -m http.server "$IMAGE_PORT" --bind "$NODE_IP" --directory "$served"
fi

# ---- K3s ---------------------------------------------------------------------
iface="$(iface_for_ip "$NODE_IP")"
INSTALL_K3S_VERSION="$K3S_VERSION" K3S_TOKEN="$K3S_TOKEN" install_k3s \
    server --node-ip "$NODE_IP" --advertise-address "$NODE_IP" \
    --flannel-iface "$iface" --tls-san "$NODE_IP" --write-kubeconfig-mode 0644
until k3s kubectl get nodes >/dev/null 2>&1; do sleep 2; done
import_cached_images
if [[ -z "${NODECAST_IMAGE:-}" ]]; then
    import_image "$served/nodecast.tar" "$image"
fi

# ---- manifests (auto-deployed and kept in sync by K3s) ------------------------
# A new image name changes the DaemonSet, so K3s rolls the new build out.
"$repo/vagrant/provision/render-manifests.sh" "$repo" "$image" "$K3S_MANIFESTS_DIR"

echo "provision: waiting for the nodecast DaemonSet ($image)"
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
