#!/usr/bin/env bash
# Every node: base packages and a sanity check of the private network.
set -euo pipefail
# shellcheck source=lib.sh
. /nodecast/vagrant/provision/lib.sh
require_env NODE_IP

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq curl ca-certificates iproute2 python3 >/dev/null

iface="$(iface_for_ip "$NODE_IP")"
if [[ -z "$iface" ]]; then
    echo "provision: no interface carries $NODE_IP; check the private_network settings" >&2
    exit 1
fi
echo "provision: $(hostname) private interface $iface ($NODE_IP)"
