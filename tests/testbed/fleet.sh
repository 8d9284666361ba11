#!/usr/bin/env bash
# Fleet test bed: three network namespaces act as three nodes. Each runs
# nodecast and a Prometheus in agent mode that scrapes it and remote-writes
# to a central Prometheus (--web.enable-remote-write-receiver) on a bridge;
# the central one evaluates the shipped rules (hold times cut to 1 s).
#
# While node1's link to the centre is down for FLEET_CUT_SECONDS (60):
#   * node2's nodecast is SIGKILLed: the centre sees node2 down, NodecastDown
#     fires for node2 only, and its fleet forecast health turns 0;
#   * node3's tmpfs is filled: the centre sees it full on node3 only, the
#     filesystem alert fires for node3, and the fleet ranking puts node3 first.
# After the link comes back, node1's agent replays its WAL: the centre must
# hold every 1 s scrape of node1 across the cut, as many as node3's.
#
# Usage (as root): tests/testbed/fleet.sh PATH/TO/nodecast
# Run by tests/deploy_testbed.rs. All traffic stays inside 10.78.<id>.0/24.
set -euo pipefail

bin="${1:-${NODECAST_BIN:-}}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
promq="$here/promq.py"
cut_s="${FLEET_CUT_SECONDS:-60}"
[[ -n "$bin" && -x "$bin" ]] || { echo "fleet: usage: $0 PATH/TO/nodecast" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "fleet: needs root (ip netns, mount)" >&2; exit 2; }
for tool in ip prometheus promtool curl python3 unshare nsenter pgrep; do
    command -v "$tool" >/dev/null || {
        echo "fleet: '$tool' missing (Debian: iproute2 prometheus curl python3 util-linux procps)" >&2
        exit 2
    }
done

id=$(( $$ % 200 + 20 ))
net="10.78.$id"
br="ncfb$id"
work="$(mktemp -d)"
nodes=(1 2 3)
cut=1 victim=2 full=3
declare -A pid agent
central=""
ok=0
t_start=$SECONDS

log() { printf '[fleet %(%H:%M:%S)T +%3ds] %s\n' -1 "$((SECONDS - t_start))" "$*"; }

cleanup() {
    set +e
    for n in "${nodes[@]}"; do
        [[ -n "${pid[$n]:-}" ]] && kill -9 "${pid[$n]}" 2>/dev/null
        # SIGKILL: a stopping agent would spend a minute flushing to the centre.
        [[ -n "${agent[$n]:-}" ]] && kill -9 "${agent[$n]}" 2>/dev/null
    done
    [[ -n "$central" ]] && kill "$central" 2>/dev/null
    wait 2>/dev/null
    for n in "${nodes[@]}"; do ip netns del "ncf$id-$n" 2>/dev/null; done
    ip link del "$br" 2>/dev/null
    if [[ $ok -ne 1 ]]; then
        for f in "$work"/*.log; do
            [[ -f "$f" ]] || continue
            echo "----- $(basename "$f") (last 30 lines)"
            tail -n 30 "$f"
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

die() { log "FAIL: $*"; exit 1; }

wait_for() {
    local desc="$1" limit="$2"; shift 2
    local i
    for ((i = 0; i < limit; i++)); do
        if "$@" 2>/dev/null; then return 0; fi
        sleep 1
    done
    die "timed out after ${limit}s waiting for: $desc"
}

# ---- network: a bridge (the centre) and one veth per node -------------------
ip link add "$br" type bridge
ip addr add "$net.1/24" dev "$br"
ip link set "$br" up
for n in "${nodes[@]}"; do
    ns="ncf$id-$n"
    ip netns add "$ns"
    ip link add "ncfv$id-$n" type veth peer name eth0 netns "$ns"
    ip link set "ncfv$id-$n" master "$br" up
    ip -n "$ns" addr add "$net.1$n/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
done

# ---- the centre: Prometheus receiving remote write, evaluating the rules ----
cport="$(python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$net.1")"
centre="http://$net.1:$cport"
sed -E 's/^( +)(for|keep_firing_for): .*/\1\2: 1s/' \
    "$repo/deploy/prometheus/rules/nodecast.rules.yml" >"$work/nodecast.rules.yml"
cat >"$work/central.yml" <<CFG
global:
  evaluation_interval: 1s
rule_files: ['$work/nodecast.rules.yml']
CFG
promtool check config "$work/central.yml" >/dev/null
prometheus --config.file="$work/central.yml" --storage.tsdb.path="$work/central-data" \
    --web.listen-address="$net.1:$cport" --web.enable-remote-write-receiver \
    --log.level=warn >"$work/central.log" 2>&1 &
central=$!

# ---- nodes -------------------------------------------------------------------
start_node() {
    local n="$1" ns="ncf$id-$1"
    mkdir -p "$work/node$n"
    # Own PID and mount namespaces as well, so <procfs>/1/mounts is this
    # node's: a tmpfs mounted on node3 is node3's alone. With --fork the
    # daemon is PID 1 of its namespace; pid[] holds its host PID.
    ip netns exec "$ns" unshare --pid --fork --mount-proc "$bin" run \
        --web.listen-address=127.0.0.1:9847 \
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
    local wrapper=$!
    wait_for "node$n daemon started" 10 pgrep -P "$wrapper" >/dev/null
    pid[$n]="$(pgrep -P "$wrapper")"
    # Agent mode: scrape locally, remote-write to the centre. The same
    # remote_write block works for Mimir and Thanos receive (docs/deploy.md).
    cat >"$work/agent$n.yml" <<CFG
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: nodecast
    static_configs:
      - targets: ['127.0.0.1:9847']
    relabel_configs:
      - target_label: instance
        replacement: node$n
remote_write:
  - url: $centre/api/v1/write
    remote_timeout: 5s
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 2s
CFG
    ip netns exec "$ns" prometheus --enable-feature=agent --config.file="$work/agent$n.yml" \
        --storage.agent.path="$work/agent$n-wal" --web.listen-address=127.0.0.1:9090 \
        --log.level=warn >"$work/agent$n.log" 2>&1 &
    agent[$n]=$!
}
for n in "${nodes[@]}"; do start_node "$n"; done

# ---- central queries -----------------------------------------------------------
query() { curl -fsS -G --max-time 5 "$centre/api/v1/query" --data-urlencode "query=$1" | python3 "$promq" vector; }
value_of() { query "$1" | awk -v n="$2" '$1 == n { print $2; f = 1 } END { exit !f }'; }
is() { [[ "$(value_of "$1" "$2")" == "$3" ]]; }
present() { value_of "$1" "$2" >/dev/null; }
firing() { present "ALERTS{alertname=\"$1\",alertstate=\"firing\"${3:-}}" "$2"; }
absent_for() { ! present "$1" "$2"; }

wait_for "central Prometheus ready" 60 curl -fsS --max-time 2 "$centre/-/ready" -o /dev/null
for n in "${nodes[@]}"; do
    wait_for "centre sees node$n up" 60 is 'up{job="nodecast"}' "node$n" 1
    wait_for "centre has node$n forecasts" 90 present 'nodecast_time_to_exhaustion_seconds{resource="memory"}' "node$n"
    wait_for "centre rates node$n forecast health 1" 60 is 'instance:nodecast_forecast_healthy:bool' "node$n" 1
done
log "three nodes reporting to the centre through their agents"

# ---- cut node1's link; meanwhile kill node2 and fill node3 -------------------------
t_cut0="$(date +%s)"
ip -n "ncf$id-$cut" link set eth0 down
log "node$cut link to the centre down for ${cut_s}s"

kill -9 "${pid[$victim]}"
pid[$victim]=""
log "SIGKILLed node$victim's nodecast"
wait_for "centre sees node$victim down" 30 is 'up{job="nodecast"}' "node$victim" 0
wait_for "NodecastDown fires for node$victim" 30 firing NodecastDown "node$victim"
wait_for "node$victim forecast health 0" 30 is 'instance:nodecast_forecast_healthy:bool' "node$victim" 0
is 'up{job="nodecast"}' "node$full" 1 || die "node$full not up while node$victim is down"
absent_for 'ALERTS{alertname="NodecastDown"}' "node$full" || die "NodecastDown for node$full"
log "node$victim down centrally, alert and fleet health per instance"

fill="$work/fill"
mkdir -p "$fill"
nsenter -t "${pid[$full]}" -m mount -t tmpfs -o size=8m nodecast-fleet "$fill"
fs_sel="mountpoint=\"$fill\""
wait_for "centre sees node$full's tmpfs" 30 present "node_filesystem_avail_bytes{$fs_sel}" "node$full"
nsenter -t "${pid[$full]}" -m dd if=/dev/zero of="$fill/blob" bs=1M count=16 status=none 2>/dev/null || true
wait_for "centre sees node$full's tmpfs full" 30 is "node_filesystem_avail_bytes{$fs_sel}" "node$full" 0
wait_for "node$full time to exhaustion 0" 30 is "nodecast_time_to_exhaustion_seconds{resource=\"filesystem_space\",$fs_sel}" "node$full" 0
wait_for "NodecastFilesystemSpaceFillingUp fires for node$full" 30 firing NodecastFilesystemSpaceFillingUp "node$full" ",$fs_sel"
wait_for "fleet ranking puts node$full first" 30 present 'bottomk(1, instance:nodecast_time_to_exhaustion_seconds:min)' "node$full"
for n in "${nodes[@]}"; do
    [[ $n == "$full" ]] && continue
    absent_for "node_filesystem_avail_bytes{$fs_sel}" "node$n" || die "node$n reports node$full's tmpfs"
done
log "node$full full centrally, alert and fleet ranking per instance"

# The centre must not have heard from node1 during the cut.
absent_for "up{job=\"nodecast\"} and timestamp(up) > $((t_cut0 + 3))" "node$cut" ||
    die "node$cut samples reached the centre during the cut: link not cut"
now="$(date +%s)"
(( now < t_cut0 + cut_s )) && sleep $((t_cut0 + cut_s - now))
ip -n "ncf$id-$cut" link set eth0 up
t_cut1="$(date +%s)"
log "node$cut link up again after $((t_cut1 - t_cut0))s"

caught_up() { value_of "timestamp(up{job=\"nodecast\"})" "node$cut" | awk -v t="$t_cut1" '{ exit !($1 >= t + 2) }'; }
wait_for "node$cut's agent catches up" 120 caught_up
log "node$cut caught up"

# ---- no sample lost: raw samples of node1 and node3 over the cut window -----------
t_a=$((t_cut0 - 5)) t_b=$((t_cut1 + 2))
curl -fsS -G --max-time 10 "$centre/api/v1/query" \
    --data-urlencode "query=up{job=\"nodecast\",instance=~\"node$cut|node$full\"}[$((t_b - t_a))s]" \
    --data-urlencode "time=$t_b" >"$work/window.json"
python3 - "$work/window.json" "node$cut" "node$full" "$((t_b - t_a))" <<'PY' || die "samples lost across the cut"
import json, sys
doc = json.load(open(sys.argv[1]))
cut, ref, window = sys.argv[2], sys.argv[3], int(sys.argv[4])
got = {s["metric"]["instance"]: [float(t) for t, _ in s["values"]] for s in doc["data"]["result"]}
bad = 0
for inst in (cut, ref):
    ts = got.get(inst, [])
    gap = max((b - a for a, b in zip(ts, ts[1:])), default=float("inf"))
    print("  %s: %d samples in %ds, largest gap %.1fs" % (inst, len(ts), window, gap))
    if len(ts) < window * 0.95 or gap > 2.5:
        bad += 1
c, r = len(got.get(cut, [])), len(got.get(ref, []))
print("  %s/%s sample ratio %.3f" % (cut, ref, c / r if r else 0))
if abs(c - r) > 2:
    bad += 1
sys.exit(1 if bad else 0)
PY
is "min_over_time(up{job=\"nodecast\"}[$((t_b - t_a))s])" "node$cut" 1 || die "node$cut scrapes failed during the cut"
log "no sample of node$cut lost across the ${cut_s}s cut"

ok=1
log "PASS (fleet test bed took $((SECONDS - t_start))s)"
