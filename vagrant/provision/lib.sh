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
