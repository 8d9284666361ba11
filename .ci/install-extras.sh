#!/usr/bin/env bash
# Tools the tests need that Debian does not ship (or ships too old).
set -euo pipefail
# prometheus-client: the reference parser of the exposition round-trip tests.
if ! python3 -c 'import kubernetes_validate, yaml, prometheus_client' 2>/dev/null; then
  python3 -m pip install -q --disable-pip-version-check "kubernetes-validate==1.37.0" pyyaml "prometheus-client==0.21.1" >/dev/null
fi
# cargo-deb builds the Debian package in the deployment checks.
if ! command -v cargo-deb >/dev/null 2>&1; then
  cargo install --locked -q cargo-deb
fi
