#!/usr/bin/env bash
# Copies the single sources into the chart, which cannot read files outside
# its own directory: the rules file, the dashboard, and the runbook base URL
# that prometheusRule.runbookUrlBase replaces.
# Usage: charts/gen-files.sh [OUTDIR]   (default charts/nodecast/files)
# CI runs it into a temp directory and fails when the committed copies differ.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
out="${1:-$here/nodecast/files}"
mkdir -p "$out"
cp "$repo/deploy/prometheus/rules/nodecast.rules.yml" "$out/nodecast.rules.yml"
cp "$repo/deploy/grafana/dashboards/nodecast.json" "$out/nodecast.json"
python3 -B -c 'import sys; sys.path.insert(0, sys.argv[1]); import runbooks; print(runbooks.BASE_URL)' \
    "$repo/deploy/prometheus" >"$out/runbook-base-url"
