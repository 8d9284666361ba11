#!/usr/bin/env bash
# Three-node test bed: three network namespaces act as three nodes, each runs
# nodecast on its own address, and a real Prometheus scrapes them via file_sd.
# One node is SIGKILLed: Prometheus must see it down while the others keep
# reporting; after a restart on the same store its history must be intact.
#
# Usage (as root): tests/testbed/run.sh PATH/TO/nodecast
# Run by tests/deploy_testbed.rs with the binary cargo just built.
# All traffic stays inside 10.77.<id>.0/24 on a bridge this script creates.
set -euo pipefail

bin="${1:-${NODECAST_BIN:-}}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
promq="$here/promq.py"
[[ -n "$bin" && -x "$bin" ]] || { echo "testbed: usage: $0 PATH/TO/nodecast" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "testbed: needs root (ip netns)" >&2; exit 2; }
for tool in ip prometheus curl python3; do
    command -v "$tool" >/dev/null || {
        echo "testbed: '$tool' missing; .ci/deploy-checks.sh --deps installs it (Debian: iproute2 prometheus curl python3)" >&2
        exit 2
    }
done

# Unique per run so concurrent runs do not collide on names or subnets.
id=$(( $$ % 200 + 20 ))
net="10.77.$id"
br="ncbr$id"
work="$(mktemp -d)"
nodes=(1 2 3)
victim=2
declare -A pid
prom_pid=""
ok=0

log() { printf '[testbed %(%H:%M:%S)T] %s\n' -1 "$*"; }

cleanup() {
    set +e
    for n in "${nodes[@]}"; do
        [[ -n "${pid[$n]:-}" ]] && kill -9 "${pid[$n]}" 2>/dev/null
    done
    [[ -n "$prom_pid" ]] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
    for n in "${nodes[@]}"; do ip netns del "nc$id-$n" 2>/dev/null; done
    ip link del "$br" 2>/dev/null
    if [[ $ok -ne 1 ]]; then
        for f in "$work"/*.log; do
            [[ -f "$f" ]] || continue
            echo "----- $(basename "$f") (last 40 lines)"
            tail -n 40 "$f"
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

die() { log "FAIL: $*"; exit 1; }

# wait_for DESCRIPTION TIMEOUT_S COMMAND...: polls once a second. The timeout
# only bounds a hang; nothing asserts how fast anything happened.
wait_for() {
    local desc="$1" limit="$2"; shift 2
    local i
    for ((i = 0; i < limit; i++)); do
        if "$@" 2>/dev/null; then return 0; fi
        sleep 1
    done
    die "timed out after ${limit}s waiting for: $desc"
}

addr() { echo "$net.1$1"; }

# ---- network: one bridge in the root namespace, one veth per node ----------
ip link add "$br" type bridge
ip addr add "$net.1/24" dev "$br"
ip link set "$br" up
for n in "${nodes[@]}"; do
    ns="nc$id-$n"
    ip netns add "$ns"
    ip link add "ncv$id-$n" type veth peer name eth0 netns "$ns"
    ip link set "ncv$id-$n" master "$br" up
    ip -n "$ns" addr add "$(addr "$n")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
done

start_node() {
    local n="$1"
    mkdir -p "$work/node$n"
    # ip netns exec execs in place, so $! is nodecast itself: the SIGKILL
    # below hits the daemon, not a wrapper. A 1 s grid keeps the test short;
    # retention is cut to match because the forecaster reads the whole
    # downsampled window (35 d of 1 s buckets would be ~24 MiB per series).
    ip netns exec "nc$id-$n" "$bin" run \
        --web.listen-address="$(addr "$n"):9847" \
        --storage.path="$work/node$n/store" \
        --collect.interval=1s \
        --storage.flush-interval=1s \
        --storage.downsample-step=1s \
        --storage.raw-retention=10m \
        --storage.downsample-retention=10m \
        --forecast.interval=2s \
        --forecast.min-history=5s \
        --forecast.horizon=2m \
        --forecast.horizons=1m \
        --log.level=info \
        >>"$work/node$n.log" 2>&1 &
    pid[$n]=$!
}

for n in "${nodes[@]}"; do start_node "$n"; done

# ---- Prometheus in the root namespace, file_sd targets -----------------------
prom_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
prom="http://127.0.0.1:$prom_port"
{
    echo '['
    for n in "${nodes[@]}"; do
        sep=","; [[ $n == "${nodes[-1]}" ]] && sep=""
        echo "  {\"targets\": [\"$(addr "$n"):9847\"], \"labels\": {\"node\": \"node$n\"}}$sep"
    done
    echo ']'
} >"$work/targets.json"
cat >"$work/prometheus.yml" <<CFG
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: nodecast
    file_sd_configs:
      - files: ['$work/targets.json']
        refresh_interval: 1s
CFG
promtool check config "$work/prometheus.yml" >/dev/null
prometheus --config.file="$work/prometheus.yml" \
    --storage.tsdb.path="$work/prom-data" \
    --web.listen-address="127.0.0.1:$prom_port" \
    --log.level=warn >"$work/prometheus.log" 2>&1 &
prom_pid=$!

# query EXPR -> "node value" lines
query() { curl -fsS -G --max-time 5 "$prom/api/v1/query" --data-urlencode "query=$1" | python3 "$promq" vector; }
# value_of EXPR NODE -> that node's value, fails when absent
value_of() { query "$1" | awk -v n="$2" '$1 == n { print $2; f = 1 } END { exit !f }'; }
is_up() { [[ "$(value_of "up{job=\"nodecast\"}" "$1")" == "1" ]]; }
is_down() { [[ "$(value_of "up{job=\"nodecast\"}" "$1")" == "0" ]]; }
# scrape NODE METRIC [LABEL=VALUE...] -> value straight from the node
scrape() {
    local n="$1"; shift
    curl -fsS --max-time 5 "http://$(addr "$n"):9847/metrics" | python3 "$promq" metric "$@"
}
gt() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$1" "$2"; }
ge() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }
advanced() { local v; v="$(value_of "$1" "$2")" && gt "$v" "$3"; }

wait_for "Prometheus ready" 60 curl -fsS --max-time 2 "$prom/-/ready" -o /dev/null
for n in "${nodes[@]}"; do
    wait_for "node$n /readyz" 90 curl -fsS --max-time 2 "http://$(addr "$n"):9847/readyz" -o /dev/null
    wait_for "Prometheus sees node$n up" 60 is_up "node$n"
done
log "all three nodes up in Prometheus"

# ---- history on the victim before the kill ----------------------------------
v="node$victim"
# api_series NODE -> "<history_seconds>\t<key>" per forecast series
api_series() { curl -fsS --max-time 5 "http://$(addr "$1"):9847/api/v1/series" | python3 "$promq" series; }
# Build up enough history that "kept" and "started over" are far apart: a
# store that starts over needs the same warm-up again before /api/v1/series
# lists anything, and then reports less history than this.
history_min=45
long_history() { api_series "$victim" | awk -v m="$history_min" '$1 >= m { f = 1 } END { exit !f }'; }
wait_for "$v forecast series with >= ${history_min}s history" 240 long_history
api_series "$victim" | sort -k2 >"$work/series-before"
series_before="$(scrape "$victim" nodecast_store_series)"
# A flush strictly after the snapshot, so SIGKILL cannot lose what we compare.
snap="$(date +%s)"
flushed_after_snap() { gt "$(scrape "$victim" nodecast_store_last_flush_timestamp_seconds)" "$snap"; }
wait_for "$v flushed after snapshot" 30 flushed_after_snap
log "$v before kill: store_series=$series_before forecast_series=$(wc -l <"$work/series-before") max_history_s=$(sort -g "$work/series-before" | tail -n1 | cut -f1)"

# Footprint figures for sizing the K3s requests/limits (printed, not asserted).
for n in "${nodes[@]}"; do
    awk -v n="node$n" '/^(VmHWM|VmRSS):/ { printf "%s %s=%s%s ", n, $1, $2, $3 } END { print "" }' "/proc/${pid[$n]}/status"
    clk="$(getconf CLK_TCK)"
    awk -v n="node$n" -v clk="$clk" '{ printf "%s cpu_seconds=%.2f\n", n, ($14 + $15) / clk }' "/proc/${pid[$n]}/stat"
done | sed 's/^/[testbed footprint] /'

# ---- SIGKILL one node --------------------------------------------------------
stored_1="$(value_of 'nodecast_store_samples_stored_total{job="nodecast"}' node1)"
stored_3="$(value_of 'nodecast_store_samples_stored_total{job="nodecast"}' node3)"
kill -9 "${pid[$victim]}"
wait "${pid[$victim]}" 2>/dev/null || true
pid[$victim]=""
log "SIGKILLed $v"
wait_for "Prometheus sees $v down" 60 is_down "$v"
is_up node1 || die "node1 not up while $v is down"
is_up node3 || die "node3 not up while $v is down"
wait_for "node1 samples advance" 30 advanced 'nodecast_store_samples_stored_total{job="nodecast"}' node1 "$stored_1"
wait_for "node3 samples advance" 30 advanced 'nodecast_store_samples_stored_total{job="nodecast"}' node3 "$stored_3"
log "$v down; node1 and node3 up and still storing samples"

# ---- restart on the same store ----------------------------------------------
start_node "$victim"
wait_for "$v /readyz after restart" 90 curl -fsS --max-time 2 "http://$(addr "$victim"):9847/readyz" -o /dev/null
wait_for "Prometheus sees $v up again" 60 is_up "$v"
grep -qi "panic" "$work/node$victim.log" && die "$v panicked (see log)"

series_after="$(scrape "$victim" nodecast_store_series)"
ge "$series_after" "$series_before" || die "$v store_series dropped: $series_before -> $series_after"
# The first forecast cycle after the restart is the evidence: compare it as
# soon as it lists anything, never poll until the numbers happen to fit.
listed() { [[ -n "$(api_series "$victim")" ]]; }
wait_for "$v lists forecast series after restart" 120 listed
api_series "$victim" | sort -k2 >"$work/series-after"
# Every series forecast before the kill is forecast again, from at least as
# much history as it had then.
python3 - "$work/series-before" "$work/series-after" <<'PY' || die "$v history not intact across SIGKILL + restart"
import sys
def load(p):
    out = {}
    for line in open(p):
        h, k = line.rstrip("\n").split("\t", 1)
        out[k] = float(h)
    return out
before, after = load(sys.argv[1]), load(sys.argv[2])
bad = 0
for k, h in sorted(before.items()):
    if k not in after:
        print("  missing after restart: %s (had %.0fs history)" % (k, h)); bad += 1
    elif after[k] < h:
        print("  history shrank: %s %.0fs -> %.0fs" % (k, h, after[k])); bad += 1
print("  %d series compared, %d lost or shortened" % (len(before), bad))
sys.exit(1 if bad or not before else 0)
PY
log "$v after restart: store_series=$series_after forecast_series=$(wc -l <"$work/series-after") min_history_s=$(sort -g "$work/series-after" | head -n1 | cut -f1) (history intact)"

if ! is_up node1 || ! is_up node3; then die "survivors went down"; fi
ok=1
log "PASS"
