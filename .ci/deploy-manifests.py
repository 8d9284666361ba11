#!/usr/bin/env python3
"""Offline checks kubernetes-validate cannot do, for .ci/deploy-checks.sh.

  deploy-manifests.py flags HELP_FILE REPO [MANIFEST...]
      every nodecast flag passed by the unit, the DaemonSet, the test beds,
      the keys of the default config and the nodecast containers of the
      rendered MANIFESTs (Helm, kustomize) must appear in `nodecast run --help`
  deploy-manifests.py defaults HELP_FILE CONFIG
      every commented `# "key" = value` line of the default config, unless
      the comment line above it says "example:", equals the [default: ...]
      that `nodecast run --help` prints for --key
  deploy-manifests.py crds OUTDIR FILE...
      structural checks of ServiceMonitor / PrometheusRule (no CRD schemas
      offline); writes each PrometheusRule's spec to OUTDIR/NAME.rules.yml
      for promtool
  deploy-manifests.py kustomization DIR
      every resource listed exists, every manifest in DIR is listed
  deploy-manifests.py promconfig IN OUT
      Debian's promtool is built without Kubernetes service discovery, so
      kubernetes_sd_configs are checked here and swapped for a static target;
      promtool then checks everything else (relabelling, rule_files, ...)
  deploy-manifests.py extract FILE CONFIGMAP KEY OUT
      writes one ConfigMap data key to OUT (for promtool)
  deploy-manifests.py conventions MANAGED_BY FILE...
      Kubernetes conventions of rendered output: the six standard
      app.kubernetes.io labels on every object and pod template (managed-by
      = MANAGED_BY), no release label, selectors on name (+ instance) only,
      DaemonSets pinned to kubernetes.io/os=linux
"""
import os
import re
import sys

import yaml

FLAG = re.compile(r"(?<![\w-])--(?:no-)?[a-z][a-z0-9_.-]*[a-z0-9]")
errors = []


def err(msg):
    errors.append(msg)
    print("  ERROR " + msg)


def docs(path):
    with open(path) as f:
        try:
            return [d for d in yaml.safe_load_all(f) if d]
        except yaml.YAMLError as e:
            err("%s: not valid YAML: %s" % (path, e))
            return []


def flags_in_args(args):
    out = set()
    for a in args or []:
        m = re.match(r"^(--[a-z][a-z0-9_.-]*)(=|$)", a)
        if m:
            out.add(m.group(1))
    return out


def cmd_flags(help_file, repo, *manifests):
    with open(help_file) as f:
        help_text = f.read()
    known = set(FLAG.findall(help_text))
    if not known:
        err("%s lists no flags at all; is it `nodecast run --help` output?" % help_file)
        return
    used = {}  # flag -> where

    def note(flags, where):
        for fl in flags:
            used.setdefault(fl, where)

    unit = os.path.join(repo, "systemd/nodecast.service")
    with open(unit) as f:
        for n, line in enumerate(f, 1):
            if line.startswith("ExecStart="):
                note(FLAG.findall(line.split("=", 1)[1]), "%s:%d" % (unit, n))

    k3s = [os.path.join(repo, "k3s", n) for n in sorted(os.listdir(os.path.join(repo, "k3s")))
           if n.endswith(".yaml")]
    for path in k3s + list(manifests):
        for d in docs(path):
            spec = (d.get("spec") or {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                if c.get("name") == "nodecast":
                    note(flags_in_args((c.get("command") or []) + (c.get("args") or [])),
                         "%s container nodecast" % path)

    for runsh in ("tests/testbed/run.sh", "tests/testbed/fleet.sh"):
        runsh = os.path.join(repo, runsh)
        with open(runsh) as f:
            text = f.read()
        block = re.search(r'"\$bin" run \\\n(.*?)>>', text, re.S)
        if not block:
            err("%s: cannot find the nodecast command line" % runsh)
        else:
            note(FLAG.findall(block.group(1)), runsh)

    conf = os.path.join(repo, "systemd/nodecast.toml")
    with open(conf) as f:
        for n, line in enumerate(f, 1):
            m = re.match(r'^#\s*"([a-z][a-z0-9_.-]+)"\s*=', line)
            if m:
                note(["--" + m.group(1)], "%s:%d (config key)" % (conf, n))

    if not used:
        err("found no flags in the deployment files: the extraction is broken")
    for fl in sorted(used):
        if fl in known:
            print("  ok    %-48s %s" % (fl, used[fl]))
        else:
            err("%s (used in %s) is not a flag of `nodecast run`" % (fl, used[fl]))


def cmd_defaults(help_file, conf):
    import tomllib
    with open(help_file) as f:
        help_text = f.read()
    # "--flag <V>\n   description ... [default: X]" (description may wrap)
    defaults = {}
    for m in re.finditer(r"^\s+--([a-z][a-z0-9_.-]*)(?: <[^>]+>)?\n(.*?)(?=^\s+-|\Z)", help_text, re.S | re.M):
        d = re.search(r"\[default: (.*?)\](?: \[env|\s*$)", m.group(2).strip(), re.S)
        if d:
            defaults[m.group(1)] = d.group(1)
    if not defaults:
        err("%s: no [default: ...] found" % help_file)
        return
    prev = ""
    checked = 0
    with open(conf) as f:
        for n, line in enumerate(f, 1):
            m = re.match(r'^#\s*("[a-z][a-z0-9_.-]+"\s*=.*)$', line)
            if m and "example:" not in prev:
                key, value = next(iter(tomllib.loads(m.group(1)).items()))
                want = defaults.get(key)
                if want is None:
                    err("%s:%d: %s shown as a default, but --help prints no default for it" % (conf, n, key))
                elif str(value) != want:
                    err("%s:%d: %s = %r, but the binary's default is %r" % (conf, n, key, value, want))
                else:
                    checked += 1
            prev = line
    print("  ok    %d defaults in %s match `nodecast run --help`" % (checked, conf))


def need(d, path, keys, where):
    cur = d
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            err("%s: %s lacks %s" % (where, path, ".".join(keys)))
            return None
        cur = cur[k]
    return cur


def cmd_crds(outdir, *files):
    for path in files:
        for d in docs(path):
            kind = d.get("kind")
            where = "%s %s/%s" % (path, kind, (d.get("metadata") or {}).get("name"))
            if d.get("apiVersion") != "monitoring.coreos.com/v1":
                continue
            need(d, path, ["metadata", "name"], where)
            need(d, path, ["metadata", "namespace"], where)
            if kind == "ServiceMonitor":
                need(d, path, ["spec", "selector", "matchLabels"], where)
                eps = need(d, path, ["spec", "endpoints"], where) or []
                if not eps or not all(isinstance(e, dict) and e.get("port") for e in eps):
                    err("%s: every endpoint needs a named port" % where)
                print("  ok    " + where)
            elif kind == "PrometheusRule":
                groups = need(d, path, ["spec", "groups"], where)
                if not groups:
                    err("%s: no rule groups" % where)
                    continue
                out = os.path.join(outdir, "%s.rules.yml" % d["metadata"]["name"])
                with open(out, "w") as f:
                    yaml.safe_dump({"groups": groups}, f)
                print("  ok    %s (%d groups -> %s)" % (where, len(groups), out))
            else:
                err("%s: unexpected kind" % where)


def cmd_kustomization(d):
    k = docs(os.path.join(d, "kustomization.yaml"))
    if not k:
        err("%s/kustomization.yaml missing or empty" % d)
        return
    listed = k[0].get("resources") or []
    for r in listed:
        if not os.path.exists(os.path.join(d, r)):
            err("kustomization lists %s, which does not exist" % r)
    for name in sorted(os.listdir(d)):
        if name.endswith(".yaml") and name != "kustomization.yaml" and name not in listed:
            err("k3s/%s is not listed in kustomization.yaml resources" % name)
    print("  ok    kustomization lists %d resources" % len(listed))


K8S_SD_KEYS = {"role", "namespaces", "selectors", "api_server", "kubeconfig_file",
               "attach_metadata", "basic_auth", "authorization", "oauth2",
               "tls_config", "proxy_url", "follow_redirects", "enable_http2"}
K8S_SD_ROLES = {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}


def cmd_promconfig(src, out):
    d = docs(src)
    if not d:
        err("%s: empty" % src)
        return
    cfg = d[0]
    for sc in cfg.get("scrape_configs") or []:
        sds = sc.pop("kubernetes_sd_configs", None)
        if sds is None:
            continue
        for i, sd in enumerate(sds):
            where = "%s job %s kubernetes_sd_configs[%d]" % (src, sc.get("job_name"), i)
            unknown = set(sd) - K8S_SD_KEYS
            if unknown:
                err("%s: unknown keys %s" % (where, sorted(unknown)))
            if sd.get("role") not in K8S_SD_ROLES:
                err("%s: role %r is not one of %s" % (where, sd.get("role"), sorted(K8S_SD_ROLES)))
            ns = sd.get("namespaces")
            if ns is not None and not (isinstance(ns, dict) and set(ns) <= {"names", "own_namespace"}):
                err("%s: namespaces must be {names: [...]}" % where)
            print("  ok    %s role=%s" % (where, sd.get("role")))
        sc["static_configs"] = [{"targets": ["sd-placeholder:9847"]}]
    with open(out, "w") as f:
        yaml.safe_dump(cfg, f)


def cmd_extract(path, name, key, out):
    for d in docs(path):
        if d.get("kind") == "ConfigMap" and d["metadata"]["name"] == name:
            data = (d.get("data") or {}).get(key)
            if data is None:
                err("%s: ConfigMap %s has no key %s" % (path, name, key))
                return
            with open(out, "w") as f:
                f.write(data)
            return
    err("%s: no ConfigMap %s" % (path, name))


STANDARD_LABELS = ("name", "instance", "version", "component", "part-of", "managed-by")


def cmd_conventions(managed_by, *files):
    n = 0
    for path in files:
        for d in docs(path):
            kind, name = d.get("kind"), (d.get("metadata") or {}).get("name")
            where = "%s %s/%s" % (path, kind, name)
            objs = [("", d)]
            tmpl = (d.get("spec") or {}).get("template")
            if tmpl:
                objs.append((" pod template", tmpl))
            for what, o in objs:
                labels = (o.get("metadata") or {}).get("labels") or {}
                for k in STANDARD_LABELS:
                    if not labels.get("app.kubernetes.io/" + k):
                        err("%s%s: no app.kubernetes.io/%s label" % (where, what, k))
                if labels.get("app.kubernetes.io/managed-by", managed_by) != managed_by:
                    err("%s%s: managed-by %r, want %r" % (where, what, labels["app.kubernetes.io/managed-by"], managed_by))
                if "release" in labels:
                    err("%s%s: hard-coded release label" % (where, what))
            sel = ((d.get("spec") or {}).get("selector") or {})
            sel = sel.get("matchLabels", sel) if kind != "Service" else sel
            if kind in ("DaemonSet", "Service", "ServiceMonitor"):
                extra = set(sel) - {"app.kubernetes.io/name", "app.kubernetes.io/instance"}
                if extra or "app.kubernetes.io/name" not in sel:
                    err("%s: selector %r should be app.kubernetes.io/name (+ instance) only" % (where, sel))
            if kind == "DaemonSet":
                ns = tmpl["spec"].get("nodeSelector") or {}
                if ns.get("kubernetes.io/os") != "linux":
                    err("%s: nodeSelector lacks kubernetes.io/os: linux" % where)
            n += 1
    if not n:
        err("no objects in %s" % " ".join(files))
    print("  ok    %d objects checked for labels, selectors and nodeSelector" % n)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"flags": lambda: cmd_flags(*args),
     "crds": lambda: cmd_crds(*args),
     "defaults": lambda: cmd_defaults(*args),
     "kustomization": lambda: cmd_kustomization(*args),
     "promconfig": lambda: cmd_promconfig(*args),
     "extract": lambda: cmd_extract(*args),
     "conventions": lambda: cmd_conventions(*args)}[cmd]()
    sys.exit(1 if errors else 0)
