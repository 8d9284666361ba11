#!/usr/bin/env bash
# Fills vagrant/cache/ on a machine with internet access, so `vagrant up`
# and re-provisioning work offline (vagrant/cache/README.md).
# Usage: vagrant/fetch-cache.sh [--no-image]
#   K3S_VERSION (default: the Vagrantfile's), ARCH (amd64)
#   --no-image  skip building the nodecast image (the server then builds it)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cache="$here/cache"
version="${K3S_VERSION:-$(sed -n 's/^K3S_VERSION = ENV.fetch("K3S_VERSION", "\(.*\)")$/\1/p' "$here/Vagrantfile")}"
arch="${ARCH:-amd64}"
[[ -n "$version" ]] || { echo "fetch-cache: cannot read K3S_VERSION from the Vagrantfile" >&2; exit 1; }
mkdir -p "$cache"
rel="https://github.com/k3s-io/k3s/releases/download/${version//+/%2B}"
bin=k3s
[[ "$arch" == amd64 ]] || bin="k3s-$arch"

fetch() {
    echo "fetch-cache: $2"
    curl -fL --retry 3 -o "$cache/$2.part" "$1" && mv "$cache/$2.part" "$cache/$2"
}
fetch "$rel/$bin" k3s
chmod 0755 "$cache/k3s"
fetch "$rel/k3s-airgap-images-$arch.tar.zst" "k3s-airgap-images-$arch.tar.zst"
fetch https://get.k3s.io k3s-install.sh

if [[ "${1:-}" != --no-image ]]; then
    engine="$(command -v podman || command -v docker || true)"
    [[ -n "$engine" ]] || { echo "fetch-cache: podman or docker needed to build the image (or pass --no-image)" >&2; exit 1; }
    # docker-archive: what `k3s ctr images import` reads (podman's default is OCI).
    save=("$engine" save)
    [[ "$engine" == *podman ]] && save=("$engine" save -m --format docker-archive)
    "$engine" build -f "$repo/k3s/Containerfile" -t localhost/nodecast:0.1.0 "$repo"
    rm -f "$cache/nodecast.tar"
    "${save[@]}" -o "$cache/nodecast.tar" localhost/nodecast:0.1.0
    # The monitoring stack's images, so Prometheus and Grafana start offline too.
    mapfile -t imgs < <(sed -n 's/^ *image: *//p' "$here/manifests/monitoring.yaml" | sort -u)
    if ((${#imgs[@]})); then
        for i in "${imgs[@]}"; do "$engine" pull "$i"; done
        "${save[@]}" -o "$cache/monitoring-images.tar" "${imgs[@]}"
    fi
fi
ls -l "$cache"
