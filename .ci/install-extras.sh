#!/usr/bin/env bash
# Tools the deployment checks need that Debian does not ship (or ships too old).
set -euo pipefail
python3 -m pip install -q --disable-pip-version-check kubernetes-validate pyyaml >/dev/null 2>&1 || \
  echo "warning: pip install kubernetes-validate failed" >&2
