#!/usr/bin/env python3
"""Runbook links of the alert rules, from one base URL.

BASE_URL below is the only place the runbook location is written down: every
alert's runbook_url is BASE_URL#<alert name in lower case>, which is the
anchor GitHub-style renderers give the alert's "## Name" heading in
docs/alerts.md. The Grafana dashboard (deploy/grafana/build-dashboard.py)
imports it too, and the Helm chart can swap it (prometheusRule.runbookUrlBase).

  runbooks.py            check: every alert has the right runbook_url and a
                         section in docs/alerts.md (exit 1 otherwise)
  runbooks.py --write    rewrite every runbook_url in the rules file (and the
                         expected annotations of its promtool tests) from BASE_URL
"""
import re
import sys
from pathlib import Path

# The project's docs/alerts.md as served by its repository host. A fork or a
# mirror changes this line and runs `runbooks.py --write`.
BASE_URL = "https://github.com/nodecast/nodecast/blob/main/docs/alerts.md"

HERE = Path(__file__).resolve().parent
RULES = HERE / "rules" / "nodecast.rules.yml"
# promtool unit tests compare whole annotations, runbook_url included.
RULE_TESTS = sorted((HERE / "rules" / "tests").glob("*.yml"))
ALERTS_DOC = HERE.parent.parent / "docs" / "alerts.md"

ALERT_RE = re.compile(r"^\s*-\s+alert:\s*(\S+)\s*$")
RULE_START_RE = re.compile(r"^\s*-\s+(alert|record):")
URL_RE = re.compile(r"^(\s*runbook_url:\s*)(.*?)\s*$")


def url_for(alert):
    return f"{BASE_URL}#{alert.lower()}"


def process(lines, write):
    """Returns (new_lines, problems)."""
    out, problems = [], []
    alert, seen_url = None, True
    for n, line in enumerate(lines, 1):
        if RULE_START_RE.match(line):
            if alert and not seen_url:
                problems.append(f"alert {alert} has no runbook_url")
            m = ALERT_RE.match(line)
            alert, seen_url = (m.group(1), False) if m else (None, True)
        m = URL_RE.match(line)
        if m and alert:
            seen_url = True
            want = url_for(alert)
            have = m.group(2).strip("'\"")
            if have != want:
                if write:
                    line = f"{m.group(1)}'{want}'\n"
                else:
                    problems.append(f"line {n}: {alert}: runbook_url {have!r}, want {want!r}")
        out.append(line)
    if alert and not seen_url:
        problems.append(f"alert {alert} has no runbook_url")
    return out, problems


def main(argv):
    write = argv == ["--write"]
    if argv and not write:
        sys.exit(__doc__)
    lines = RULES.read_text(encoding="utf-8").splitlines(keepends=True)
    new, problems = process(lines, write)
    headings = set(re.findall(r"^## (\S+)\s*$", ALERTS_DOC.read_text(encoding="utf-8"), re.M))
    alerts = sorted({m.group(1) for m in map(ALERT_RE.match, lines) if m})
    for a in alerts:
        if a not in headings:
            problems.append(f"alert {a} has no '## {a}' section in docs/alerts.md")
    for t in RULE_TESTS:
        text = t.read_text(encoding="utf-8")
        fixed = re.sub(r"(runbook_url:\s*['\"]?)[^'\"#\s]+#", lambda m: m.group(1) + BASE_URL + "#", text)
        if fixed != text:
            if write:
                t.write_text(fixed, encoding="utf-8")
            else:
                problems.append(f"{t.name}: a runbook_url does not start with {BASE_URL}#")
    if write:
        RULES.write_text("".join(new), encoding="utf-8")
    for p in problems:
        print(f"runbooks: {p}")
    if problems:
        if not write:
            print(f"runbooks: fix with {Path(__file__).relative_to(HERE.parent.parent)} --write")
        return 1
    print(f"runbooks: {len(alerts)} alerts, every runbook_url is {BASE_URL}#<alert>, every anchor exists")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
