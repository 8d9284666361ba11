#!/usr/bin/env bash
# Checks for deploy/: Prometheus rules (promtool check + unit tests + test
# coverage of every alert), example scrape config, Grafana dashboard and
# provisioning. Exits non-zero on the first failing group, after printing why.
# The mutation tests proving the rule tests can fail are in
# tests/rules_promtool.rs (cargo test --test rules_promtool).
set -euo pipefail

cd "$(dirname "$0")/.."
RULES=deploy/prometheus/rules
DASH=deploy/grafana/dashboards/nodecast.json

apt_install() {
  # Debian's prometheus package ships promtool; python3-yaml parses the
  # rule and provisioning files below.
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v promtool >/dev/null 2>&1; then
  echo "== installing prometheus (for promtool)"
  apt_install prometheus
fi
# A python3 earlier on PATH (pyenv, venv) does not see Debian's python3-yaml,
# so fall back to the system interpreter after installing it.
PY=python3
if ! "$PY" -c 'import yaml' >/dev/null 2>&1; then
  PY=/usr/bin/python3
  if ! "$PY" -c 'import yaml' >/dev/null 2>&1; then
    echo "== installing python3-yaml"
    apt_install python3 python3-yaml
  fi
fi

echo "== promtool version"
promtool --version | head -1
# keep_firing_for arrived in Prometheus 2.42; older promtool rejects the rules.
ver=$(promtool --version | sed -n '1s/.*version \([0-9]*\.[0-9]*\).*/\1/p')
if ! printf '2.42\n%s\n' "$ver" | sort -C -V; then
  echo "FAIL: promtool $ver is older than 2.42 (no keep_firing_for)" >&2
  exit 1
fi

echo "== promtool check rules"
promtool check rules "$RULES/nodecast.rules.yml" "$RULES/tests/node-mixin-reference.rules.yml"

echo "== promtool check config"
promtool check config "$(pwd)/deploy/prometheus/prometheus.yml"

echo "== promtool test rules"
mapfile -t tests < <(find "$RULES/tests" -maxdepth 1 -name '*.yml' ! -name '*.rules.yml' | sort)
if [ "${#tests[@]}" -eq 0 ]; then
  echo "FAIL: no promtool test files in $RULES/tests" >&2
  exit 1
fi
promtool test rules "${tests[@]}"

echo "== every alert has a firing and a silent test case"
"$PY" - "$RULES/nodecast.rules.yml" "${tests[@]}" <<'PY'
import sys, yaml

rules_file, test_files = sys.argv[1], sys.argv[2:]
with open(rules_file, encoding="utf-8") as f:
    groups = yaml.safe_load(f)["groups"]
# An alert name can have several rules (severity, reason); each must be
# seen firing. Silence is checked per alert name.
variants = {}
for g in groups:
    for r in g["rules"]:
        if "alert" in r:
            labels = r.get("labels", {})
            key = (r["alert"], labels.get("severity"), labels.get("reason"))
            variants[key] = False
silent = {name: False for (name, _, _) in variants}

for path in test_files:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    for t in doc.get("tests", []):
        for a in t.get("alert_rule_test", []) or []:
            name = a["alertname"]
            exp = a.get("exp_alerts") or []
            if not exp and name in silent:
                silent[name] = True
            for e in exp:
                l = e.get("exp_labels", {})
                key = (name, l.get("severity"), l.get("reason"))
                # A reason label carried over from the series (not set by the rule)
                # belongs to the rule without one.
                if key not in variants:
                    key = (name, l.get("severity"), None)
                if key in variants:
                    variants[key] = True

bad = [f"{k[0]} severity={k[1]} reason={k[2]}: no test where it fires" for k, ok in variants.items() if not ok]
bad += [f"{n}: no test where it stays silent" for n, ok in silent.items() if not ok]
for line in bad:
    print("FAIL:", line, file=sys.stderr)
if bad:
    sys.exit(1)
print(f"ok: {len(variants)} rules in {len(silent)} alerts, all covered")
PY

echo "== dashboard JSON matches its generator"
"$PY" deploy/grafana/build-dashboard.py --check

echo "== dashboard structure"
"$PY" - "$DASH" <<'PY'
import json, re, sys

path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
except json.JSONDecodeError as e:
    sys.exit(f"FAIL: {path}:{e.lineno}:{e.colno}: {e.msg}")

# Metric names the dashboard may use: nodecast's exposition (interface
# contract) plus Prometheus' own. A panel querying anything else would show
# "No data" on a node that runs only nodecast.
ALLOWED = set("""
node_cpu_seconds_total node_memory_MemAvailable_bytes node_memory_MemTotal_bytes
node_memory_SwapFree_bytes node_memory_SwapTotal_bytes node_filesystem_avail_bytes
node_filesystem_size_bytes node_filesystem_files node_filesystem_files_free
node_filesystem_readonly node_disk_read_bytes_total node_disk_written_bytes_total
node_disk_io_time_seconds_total node_network_receive_bytes_total
node_network_transmit_bytes_total node_load1 node_load5 node_load15
node_filefd_allocated node_filefd_maximum node_processes_threads
node_processes_max_threads node_processes_pids node_processes_max_processes
node_hwmon_temp_celsius node_thermal_zone_temp
nodecast_build_info nodecast_collector_duration_seconds nodecast_collector_success
nodecast_collector_errors_total nodecast_store_samples_stored_total
nodecast_store_samples_dropped_total nodecast_store_errors_total nodecast_store_size_bytes
nodecast_store_series nodecast_store_retention_seconds nodecast_store_last_flush_timestamp_seconds
nodecast_forecast nodecast_forecast_lower nodecast_forecast_upper nodecast_forecast_level_ratio
nodecast_time_to_exhaustion_seconds nodecast_exhaustion_probability_ratio
nodecast_forecast_model_info nodecast_forecast_history_seconds nodecast_forecast_imputed_ratio
nodecast_forecast_cycle_duration_seconds nodecast_forecast_cycle_last_run_timestamp_seconds
nodecast_forecast_cycles_total nodecast_forecast_errors_total nodecast_forecast_series
nodecast_forecast_mase nodecast_forecast_coverage_ratio nodecast_forecast_scored_forecasts
nodecast_forecast_challenger_mase nodecast_forecast_promotions_total
nodecast_forecast_drift_detected_total nodecast_forecast_last_drift_timestamp_seconds
nodecast_anomaly_score
up ALERTS
""".split())
# Plus what the shipped recording rules record (the Fleet row): present
# wherever the rules are loaded, as on a central Prometheus.
ALLOWED |= set(re.findall(r"^\s*-\s+record:\s*(\S+)",
                          open("deploy/prometheus/rules/nodecast.rules.yml").read(), re.M))
PROMQL_WORDS = set("""
sum min max avg count stddev stdvar topk bottomk quantile count_values group
by without on ignoring group_left group_right and or unless offset bool
rate irate increase delta idelta deriv predict_linear changes resets time vector
scalar sort sort_desc clamp clamp_max clamp_min abs absent label_replace
label_join histogram_quantile min_over_time max_over_time avg_over_time
sum_over_time count_over_time last_over_time timestamp
""".split())

errors = []
def err(msg):
    errors.append(msg)

for key in ("uid", "title", "schemaVersion", "panels", "templating"):
    if key not in d:
        err(f"missing top-level key {key!r}")
if not isinstance(d.get("schemaVersion"), int):
    err("schemaVersion must be an integer")

variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
ds = variables.get("datasource")
if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
    err("templating needs a 'datasource' variable of type datasource with query 'prometheus'")
inst = variables.get("instance")
def var_query(v):
    q = v.get("query")
    return q.get("query", "") if isinstance(q, dict) else (q or "")
if not inst or not re.fullmatch(r"label_values\(nodecast_build_info(\{[^}]*\})?,\s*instance\)", var_query(inst)):
    err("templating needs an 'instance' variable from label_values(nodecast_build_info, instance)")
for name, v in variables.items():
    if v.get("type") == "query" and v.get("datasource", {}).get("uid") != "${datasource}":
        err(f"variable {name}: datasource must be ${{datasource}}")

def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))

ids, n_targets = set(), 0
for p in walk(d.get("panels", [])):
    title = p.get("title", "?")
    pid = p.get("id")
    if pid in ids:
        err(f"panel {title!r}: duplicate id {pid}")
    ids.add(pid)
    if "gridPos" not in p:
        err(f"panel {title!r}: no gridPos")
    if p.get("type") == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${datasource}":
        err(f"panel {title!r}: datasource must be ${{datasource}}")
    targets = p.get("targets") or []
    if not targets:
        err(f"panel {title!r}: no targets")
    refs = set()
    for t in targets:
        n_targets += 1
        ref = t.get("refId")
        if not ref or ref in refs:
            err(f"panel {title!r}: missing or duplicate refId {ref!r}")
        refs.add(ref)
        if t.get("datasource", {}).get("uid") != "${datasource}":
            err(f"panel {title!r} {ref}: target datasource must be ${{datasource}}")
        expr = t.get("expr", "")
        if not expr.strip():
            err(f"panel {title!r} {ref}: empty expr")
        # Identifiers outside label matchers, strings, ranges and Grafana
        # variables are metric names, functions or keywords.
        bare = re.sub(r'\{[^}]*\}|"[^"]*"|\[[^\]]*\]|\$\{?\w+\}?|\b\d+[smhdwy]\b', " ", expr)
        bare = re.sub(r"\((?:\s*\w+\s*,)*\s*\w+\s*\)(?=\s*\()", " ", bare)  # by (a, b) (
        bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
        for word in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare):
            if word not in ALLOWED and word not in PROMQL_WORDS and not re.fullmatch(r"e\d*", word):
                err(f"panel {title!r} {ref}: {word!r} is not a nodecast metric or PromQL word: {expr}")

for e in errors:
    print("FAIL:", e, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"ok: {len(ids)} panels, {n_targets} queries, variables {sorted(variables)}")
PY

echo "== dashboard queries parse as PromQL"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# promtool has no standalone PromQL parser; wrapping every query (panel
# targets, variable selectors, annotations) in a recording rule makes
# `promtool check rules` parse it.
"$PY" deploy/grafana/extract-queries.py --instance 'node1.example.net:9847' --job nodecast \
  --horizon 1h --format json > "$tmp/queries.json"
"$PY" - "$tmp/queries.json" "$DASH" > "$tmp/queries.rules.yml" <<'PY'
import json, re, sys
queries = [q["expr"] for q in json.load(open(sys.argv[1], encoding="utf-8"))]
d = json.load(open(sys.argv[2], encoding="utf-8"))
fill = {"instance": "node1", "job": "nodecast", "mountpoint": "/", "horizon": "1h"}
def sub(s):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: fill.get(m.group(1), "x"), s)
for v in d["templating"]["list"]:
    q = v.get("query")
    q = q.get("query", "") if isinstance(q, dict) else q
    m = re.fullmatch(r"label_values\((.*),\s*\w+\)", q or "")
    if m:
        queries.append(sub(m.group(1)))
for a in d.get("annotations", {}).get("list", []):
    if a.get("expr"):
        queries.append(sub(a["expr"]))
rules = [{"record": f"dashboard_query_{i}", "expr": q} for i, q in enumerate(queries)]
print(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}, indent=1))
PY
promtool check rules "$tmp/queries.rules.yml"

echo "== extract-queries.py rejects a variable it cannot fill"
"$PY" - "$DASH" > "$tmp/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
d["panels"][1]["targets"][0]["expr"] = "up{x=\"$undeclared\"}"
json.dump(d, sys.stdout)
PY
if "$PY" deploy/grafana/extract-queries.py --dashboard "$tmp/bad.json" --instance i --job j >/dev/null 2>"$tmp/err"; then
  echo "FAIL: extract-queries.py accepted an undeclared variable" >&2
  exit 1
fi
grep -q 'undeclared' "$tmp/err" || { echo "FAIL: error does not name the variable:" >&2; cat "$tmp/err" >&2; exit 1; }

echo "== extract-queries.py escapes multi-value variables like Grafana"
# Grafana regex-escapes values of multi-value variables (inside a PromQL
# string, so the backslash is doubled); an unescaped '.' would match more.
"$PY" deploy/grafana/extract-queries.py --instance i --job j --mountpoint /srv/a.b > "$tmp/escaped"
grep -qF 'mountpoint=~"/srv/a\\.b"' "$tmp/escaped" || {
  echo "FAIL: --mountpoint /srv/a.b not escaped as /srv/a\\.b:" >&2; grep mountpoint "$tmp/escaped" >&2; exit 1; }

echo "== provisioning files"
"$PY" - deploy/grafana/provisioning/datasources/*.yml deploy/grafana/provisioning/dashboards/*.yml \
  deploy/prometheus/file_sd/*.yml <<'PY'
import sys, yaml
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if "/file_sd/" in path:
        ok = isinstance(doc, list) and all("targets" in g for g in doc)
    elif "/datasources/" in path:
        ok = doc.get("apiVersion") == 1 and all(ds.get("type") == "prometheus" for ds in doc["datasources"])
    else:
        ok = doc.get("apiVersion") == 1 and all(p.get("options", {}).get("path") for p in doc["providers"])
    if not ok:
        sys.exit(f"FAIL: {path}: unexpected structure")
    print(f"ok: {path}")
PY

echo "== all rules checks passed"
