#!/usr/bin/env python3
"""Print every panel query of a Grafana dashboard with its variables filled in.

Lets a test run the dashboard's exact PromQL against a real Prometheus
without a Grafana server: each line of output is one query, ready for
/api/v1/query. Stdlib only, so it runs wherever python3 does.

  extract-queries.py --instance 127.0.0.1:9847 --job nodecast
  extract-queries.py --instance ... --job ... --horizon 5m --format json

Template variables the dashboard declares must all get a value: the
command-line options below, --var NAME=VALUE for any other, or the
variable's "All" value where it has one. A query still holding a `$` after
substitution is an error, so a new dashboard variable cannot slip through
untested.
"""

import argparse
import json
import re
import sys
from pathlib import Path

DEFAULT_DASHBOARD = Path(__file__).resolve().parent / "dashboards" / "nodecast.json"

# Grafana's own escaping of variable values in Prometheus queries
# (prometheusRegularEscape / prometheusSpecialRegexEscape): every value sits
# inside a PromQL string, so backslashes double; values of multi-value or
# "All" variables are also regex-escaped, since they go into =~ matchers.
_REGEX_META = re.compile(r"[$^*{}\[\]'+?.()|]")


def grafana_regular_escape(value):
    return value.replace("\\", "\\\\").replace("'", "\\\\'")


def grafana_regex_escape(value):
    value = value.replace("\\", "\\\\\\\\")
    return _REGEX_META.sub(lambda m: "\\\\" + m.group(0), value)


def walk_panels(panels):
    for panel in panels:
        yield panel
        # Collapsed rows keep their children inside the row.
        yield from walk_panels(panel.get("panels", []))


def variable_values(dashboard, given):
    """Map each dashboard variable to the text that replaces it in queries."""
    values = {}
    for var in dashboard.get("templating", {}).get("list", []):
        name = var.get("name")
        if not name or var.get("type") == "datasource":
            continue
        if name in given:
            raw = given[name]
            if not (var.get("multi") or var.get("includeAll")):
                raw = grafana_regular_escape(raw)
            elif raw != var.get("allValue"):
                raw = grafana_regex_escape(raw)
            values[name] = raw
        elif var.get("includeAll") and var.get("allValue"):
            values[name] = var["allValue"]
        else:
            raise SystemExit(f"error: dashboard variable ${name} has no value; pass --var {name}=VALUE")
    # Grafana built-ins used by the panels; overridable like any variable.
    values["__rate_interval"] = given.get("__rate_interval", "1m")
    values["__interval"] = given.get("__interval", "15s")
    return values


def substitute(expr, values):
    def repl(match):
        name = match.group("braced") or match.group("plain") or match.group("old")
        if name not in values:
            raise KeyError(name)
        return values[name]

    pattern = r"\$\{(?P<braced>\w+)(?::\w+)?\}|\$(?P<plain>\w+)|\[\[(?P<old>\w+)\]\]"
    return re.sub(pattern, repl, expr)


def extract(dashboard, values):
    queries = []
    for panel in walk_panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr:
                continue
            try:
                filled = substitute(expr, values)
            except KeyError as err:
                raise SystemExit(
                    f"error: panel {panel.get('title')!r} target {target.get('refId')}: "
                    f"unknown variable ${err.args[0]} in {expr!r}")
            if "$" in filled:
                raise SystemExit(f"error: panel {panel.get('title')!r}: unsubstituted '$' in {filled!r}")
            queries.append({
                "panel": panel.get("title", ""),
                "refId": target.get("refId", ""),
                "instant": bool(target.get("instant")) and not target.get("range"),
                "expr": " ".join(filled.split()),
            })
    return queries


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dashboard", type=Path, default=DEFAULT_DASHBOARD)
    p.add_argument("--instance", required=True, help="value for $instance, e.g. 127.0.0.1:9847")
    p.add_argument("--job", required=True, help="value for $job, e.g. nodecast")
    p.add_argument("--horizon", default="1h",
                   help="value for $horizon, one of nodecast's --forecast.horizons (default 1h)")
    p.add_argument("--mountpoint", help="value for $mountpoint (default: all mount points)")
    p.add_argument("--rate-interval", default="1m", help="value for $__rate_interval (default 1m)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                   help="value for any other dashboard variable")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: one query per line; json: list of {panel, refId, instant, expr}")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    given = {"instance": args.instance, "job": args.job, "horizon": args.horizon,
             "__rate_interval": args.rate_interval}
    if args.mountpoint is not None:
        given["mountpoint"] = args.mountpoint
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"error: --var {item!r}: expected NAME=VALUE")
        given[name] = value
    try:
        dashboard = json.loads(args.dashboard.read_text(encoding="utf-8"))
    except OSError as err:
        raise SystemExit(f"error: cannot read dashboard {args.dashboard}: {err.strerror}")
    except json.JSONDecodeError as err:
        raise SystemExit(f"error: {args.dashboard}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}")
    queries = extract(dashboard, variable_values(dashboard, given))
    if not queries:
        raise SystemExit(f"error: {args.dashboard}: no panel queries found")
    if args.format == "json":
        json.dump(queries, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for q in queries:
            print(q["expr"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
