#!/usr/bin/env bash
# Tools the tests need that Debian does not ship (or ships too old).
set -euo pipefail
python3 -m pip install -q --disable-pip-version-check "kubernetes-validate==1.37.0" pyyaml "prometheus-client==0.21.1" >/dev/null
# cargo-deb builds the Debian package in the deployment checks.
if ! command -v cargo-deb >/dev/null 2>&1; then
  cargo install --locked -q cargo-deb
fi
