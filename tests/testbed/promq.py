#!/usr/bin/env python3
"""Tiny JSON helpers for run.sh, so the shell never greps JSON.

  promq.py vector  < /api/v1/query response   -> "<node> <value>" per sample
  promq.py metric NAME [LABEL=VALUE...] < /metrics text -> value of first match
  promq.py keys    < /api/v1/series response  -> one series key per line
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


def keys():
    # The series listing is walked rather than assumed: any string found
    # under a "key"/"series"/"name" field, or a bare list of strings, is a key.
    try:
        doc = json.load(sys.stdin)
    except ValueError as e:
        fail("series response is not JSON: %s" % e)
    found = set()

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k in ("key", "series", "name") and isinstance(x, str):
                    found.add(x)
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, str):
                    found.add(x)
                else:
                    walk(x)

    walk(doc)
    for k in sorted(found):
        print(k)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        fail("usage: promq.py vector|metric|keys ...")
    cmd = sys.argv[1]
    if cmd == "vector":
        vector()
    elif cmd == "metric":
        metric(sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:]))
    elif cmd == "keys":
        keys()
    else:
        fail("unknown command " + cmd)
