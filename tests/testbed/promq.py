#!/usr/bin/env python3
"""Tiny JSON helpers for run.sh, so the shell never greps JSON.

  promq.py vector  < /api/v1/query response   -> "<node> <value>" per sample
  promq.py metric NAME [LABEL=VALUE...] < /metrics text -> value of first match
  promq.py series  < /api/v1/series response  -> "<history_seconds>\t<key>" per series
"""
import json
import re
import sys


def fail(msg):
    sys.stderr.write("promq.py: " + msg + "\n")
    sys.exit(1)


def vector():
    try:
        doc = json.load(sys.stdin)
    except ValueError as e:
        fail("query response is not JSON: %s" % e)
    if doc.get("status") != "success":
        fail("query failed: %r" % (doc.get("error"),))
    for s in doc["data"]["result"]:
        node = s["metric"].get("node", s["metric"].get("instance", "?"))
        print(node, s["value"][1])


def metric(name, wanted):
    # Exposition-format line: name{labels} value [timestamp]
    pat = re.compile(r'^' + re.escape(name) + r'(\{(.*)\})?\s+(\S+)')
    for line in sys.stdin:
        m = pat.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(labels.get(k) == v for k, v in wanted.items()):
            print(m.group(3))
            return
    fail("metric %s%r not found" % (name, wanted))


def series():
    # /api/v1/series: {"status": "success", "data": [{"series": KEY,
    # "history_seconds": S, ...}]}; one "S<TAB>KEY" line per entry.
    try:
        doc = json.load(sys.stdin)
    except ValueError as e:
        fail("series response is not JSON: %s" % e)
    if doc.get("status") != "success" or not isinstance(doc.get("data"), list):
        fail("unexpected series response: %.200r" % (doc,))
    for e in doc["data"]:
        print("%s\t%s" % (float(e["history_seconds"]), e["series"]))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        fail("usage: promq.py vector|metric|series ...")
    cmd = sys.argv[1]
    if cmd == "vector":
        vector()
    elif cmd == "metric":
        metric(sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:]))
    elif cmd == "series":
        series()
    else:
        fail("unknown command " + cmd)
