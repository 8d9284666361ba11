# shellcheck shell=bash
# shellcheck disable=SC2034  # constants used by the scripts that source this
# Shared helpers for the provisioning scripts (sourced, not run).

# Interface that carries NODE_IP: K3s must use the private network, not the
# NAT interface every Vagrant box has first.
iface_for_ip() {
    ip -o -4 addr show | awk -v ip="$1" '{ split($4, a, "/") } a[1] == ip { print $2; exit }'
}

require_env() {
    local v
    for v in "$@"; do
        if [[ -z "${!v:-}" ]]; then
            echo "provision: environment variable $v is required (set by the Vagrantfile)" >&2
            exit 2
        fi
    done
}

# K3s imports every tarball in this directory when it starts, so an image
# placed here before the install needs no registry.
K3S_IMAGES_DIR=/var/lib/rancher/k3s/agent/images
K3S_MANIFESTS_DIR=/var/lib/rancher/k3s/server/manifests
IMAGE_PORT=8099
LOCAL_IMAGE=localhost/nodecast:0.1.0
# Offline cache (vagrant/cache/README.md), synced with the repository.
CACHE_DIR="${NODECAST_CACHE:-/nodecast/vagrant/cache}"

# install_k3s ARGS...: installs K3s (server or agent ARGS) once, from the
# cache when it holds the binary and the install script, else from the
# internet. INSTALL_K3S_VERSION, K3S_TOKEN and K3S_URL come from the caller.
install_k3s() {
    if command -v k3s >/dev/null; then
        return 0
    fi
    if [[ -x "$CACHE_DIR/k3s" && -f "$CACHE_DIR/k3s-install.sh" ]]; then
        echo "provision: installing K3s offline from $CACHE_DIR"
        mkdir -p "$K3S_IMAGES_DIR"
        local f
        for f in "$CACHE_DIR"/k3s-airgap-images-*.tar*; do
            [[ -f "$f" ]] && cp "$f" "$K3S_IMAGES_DIR/"
        done
        install -m 0755 "$CACHE_DIR/k3s" /usr/local/bin/k3s
        INSTALL_K3S_SKIP_DOWNLOAD=true sh "$CACHE_DIR/k3s-install.sh" "$@"
    else
        echo "provision: installing K3s $INSTALL_K3S_VERSION from get.k3s.io (no offline cache)"
        curl -sfL https://get.k3s.io | sh -s - "$@"
    fi
}

# image_ref TARBALL: the name pods use for this exact image. The tag carries
# the tarball's digest, so every rebuild changes the DaemonSet and K3s rolls
# it out, instead of nodes keeping a stale image under an unchanged tag.
image_ref() {
    echo "$LOCAL_IMAGE-$(sha256sum "$1" | cut -c1-12)"
}

# import_image TARBALL REF: loads a docker-archive into K3s' containerd and
# names it REF. Runs on every provision (K3s only imports
# $K3S_IMAGES_DIR at start, so a re-provision would keep the old image).
import_image() {
    local tar="$1" ref="$2" src
    src="$(tar -xOf "$tar" manifest.json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["RepoTags"][0])')"
    k3s ctr -n k8s.io images import "$tar" >/dev/null
    if [[ "$src" != "$ref" ]]; then
        k3s ctr -n k8s.io images tag --force "$src" "$ref" >/dev/null
    fi
    echo "provision: imported $ref into K3s"
}

# import_cached_images: optional extra images (monitoring stack) from the cache.
import_cached_images() {
    if [[ -f "$CACHE_DIR/monitoring-images.tar" ]]; then
        k3s ctr -n k8s.io images import "$CACHE_DIR/monitoring-images.tar" >/dev/null
        echo "provision: imported $CACHE_DIR/monitoring-images.tar"
    fi
}
