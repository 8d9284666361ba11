#!/usr/bin/env bash
# Every node: base packages (only those missing, so an offline box with them
# needs no mirror) and a sanity check of the private network.
set -euo pipefail
# shellcheck source=lib.sh
. /nodecast/vagrant/provision/lib.sh
require_env NODE_IP

missing=()
for tool in curl ip python3 sha256sum; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq curl ca-certificates iproute2 python3 coreutils >/dev/null
fi

iface="$(iface_for_ip "$NODE_IP")"
if [[ -z "$iface" ]]; then
    echo "provision: no interface carries $NODE_IP; check the private_network settings" >&2
    exit 1
fi
echo "provision: $(hostname) private interface $iface ($NODE_IP)"
