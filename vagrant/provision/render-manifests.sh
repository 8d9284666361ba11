#!/usr/bin/env bash
# Renders the test bed's K3s auto-deploy manifests from the repository's
# single sources: k3s/ (nodecast, through kustomize),
# k3s/plain-prometheus/scrape-config.yml,
# deploy/prometheus/rules/nodecast.rules.yml and
# deploy/grafana/dashboards/nodecast.json. CI runs it into a temp directory
# and validates the output, so what the VMs get is what CI checked.
# Usage: render-manifests.sh REPO IMAGE OUTDIR
set -euo pipefail
repo="$1" image="$2" out="$3"
rules="$repo/deploy/prometheus/rules/nodecast.rules.yml"
dashboard="$repo/deploy/grafana/dashboards/nodecast.json"
mkdir -p "$out"

indent() { sed -e "s/^/$1/"; }

# K3s applies any *.yaml it sees, so each file appears whole or not at all.
emit() { cat >"$out/.$1.tmp" && mv "$out/.$1.tmp" "$out/$1"; }

# The kustomize build of k3s/ (so the objects carry its labels), without the
# prometheus-operator objects: the test bed runs a plain Prometheus and
# Grafana of its own (monitoring.yaml).
kustomize_k3s() {
    if command -v kubectl >/dev/null; then
        kubectl kustomize "$repo/k3s"
    else
        k3s kubectl kustomize "$repo/k3s"
    fi
}
kustomize_k3s | awk '
    function flush() { if (doc != "" && !skip) printf "---\n%s", doc; doc = ""; skip = 0 }
    /^---$/ { flush(); next }
    /^kind: (ServiceMonitor|PrometheusRule)$/ { skip = 1 }
    /^  name: nodecast-grafana-dashboard$/ { skip = 1 }
    { doc = doc $0 "\n" }
    END { flush() }' |
    sed -e "s#image: localhost/nodecast:0.1.0#image: $image#" | emit nodecast.yaml
grep -q "image: $image" "$out/nodecast.yaml" || { echo "render-manifests: image not set in nodecast.yaml" >&2; exit 1; }

cp "$repo/vagrant/manifests/monitoring.yaml" "$out/.monitoring.yaml.tmp"
mv "$out/.monitoring.yaml.tmp" "$out/monitoring.yaml"

{
    cat <<'HEAD'
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: prometheus-config
  namespace: monitoring
data:
  prometheus.yml: |
    global:
      scrape_interval: 15s
      evaluation_interval: 15s
    rule_files:
      - /etc/prometheus/rules/*.yml
HEAD
    indent '    ' <"$repo/k3s/plain-prometheus/scrape-config.yml"
    cat <<'HEAD'
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: prometheus-rules
  namespace: monitoring
data:
HEAD
    if [[ -f "$rules" ]]; then
        echo "  nodecast.rules.yml: |"
        indent '    ' <"$rules"
    else
        echo "render-manifests: WARNING: $rules missing; Prometheus gets no nodecast rules" >&2
        echo "  {}"
    fi
    cat <<'HEAD'
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: grafana-dashboard-nodecast
  namespace: monitoring
data:
HEAD
    if [[ -f "$dashboard" ]]; then
        echo "  nodecast.json: |"
        indent '    ' <"$dashboard"
    else
        echo "render-manifests: WARNING: $dashboard missing; Grafana gets no dashboard" >&2
        echo "  {}"
    fi
} | emit monitoring-config.yaml
