#!/usr/bin/python3
"""Runs the agent under the system call filter of systemd/nodecast.service.

systemd is not PID 1 here, so `systemd-run` cannot apply the unit. Instead
this replays the unit's SystemCallFilter= lines the way systemd does (order
matters: entries against the list's sign remove, the others add), expands
the @groups with `systemd-analyze syscall-filter`, installs the result with
libseccomp (Debian: python3-seccomp, hence /usr/bin/python3) with the unit's
SystemCallErrorNumber=, and execs the agent. It then checks that the forecast
thread runs at nice +10 and that the agent did not log that it could not
lower it.

Usage: unit-seccomp.py UNIT NODECAST_BIN
       unit-seccomp.py --effective UNIT   (print the allowed set and exit)
"""
import errno
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

_groups = {}


def expand(item):
    if not item.startswith("@"):
        return {item}
    if item not in _groups:
        out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", item],
                             check=True, capture_output=True, text=True).stdout
        names = set()
        for line in out.splitlines()[1:]:
            word = line.strip()
            if not word or word.startswith("#"):
                continue
            names |= expand(word)
        _groups[item] = names
    return _groups[item]


def effective(unit_path):
    """(allow_list_mode, set, errno_name) as systemd builds them."""
    lines = []
    errno_name = None
    for raw in open(unit_path):
        m = re.match(r"^\s*SystemCallFilter=(.*)$", raw)
        if m:
            lines.append(m.group(1).strip())
        m = re.match(r"^\s*SystemCallErrorNumber=(\S+)", raw)
        if m:
            errno_name = m.group(1)
    if not lines:
        sys.exit("unit-seccomp: %s has no SystemCallFilter=" % unit_path)
    allow_mode = not lines[0].startswith("~")
    # In allow-list mode systemd always permits @default.
    current = expand("@default") if allow_mode else set()
    for value in lines:
        if value == "":
            sys.exit("unit-seccomp: empty SystemCallFilter= reset is not handled")
        negative = value.startswith("~")
        words = value.lstrip("~").split()
        for w in words:
            names = expand(w.split(":", 1)[0])
            if negative != (not allow_mode):
                current -= names
            else:
                current |= names
    return allow_mode, current, errno_name


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scrape(url):
    with urllib.request.urlopen(url, timeout=2) as r:
        return r.read().decode()


def nice_of_threads(pid):
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            stat = open("/proc/%d/task/%s/stat" % (pid, tid)).read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[tid] = (comm, int(fields[16]))  # field 19: nice
    return out


def run(unit_path, binary):
    import seccomp  # only needed here; --effective works without it

    allow_mode, names, errno_name = effective(unit_path)
    err = getattr(errno, errno_name or "EPERM")
    if allow_mode:
        f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(err))
        action = seccomp.ALLOW
    else:
        f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        action = seccomp.ERRNO(err)
    unknown = []
    for n in sorted(names):
        try:
            f.add_rule(action, n)
        except (RuntimeError, ValueError, OSError):
            unknown.append(n)  # not a system call on this architecture
    print("unit-seccomp: %s filter from %s: %d system calls (%d unknown to libseccomp here), setpriority %s"
          % ("allow-list" if allow_mode else "deny-list", unit_path, len(names), len(unknown),
             "allowed" if (("setpriority" in names) == allow_mode) else "DENIED"))

    port = free_port()
    tmp = tempfile.mkdtemp(prefix="nodecast-seccomp-")
    log_path = os.path.join(tmp, "agent.log")
    log = open(log_path, "w")
    args = [binary, "run", "--web.listen-address=127.0.0.1:%d" % port,
            "--storage.path=%s/store" % tmp, "--collect.interval=1s",
            "--storage.flush-interval=1s", "--forecast.interval=1s",
            "--forecast.min-history=2s", "--log.level=info"]
    child = os.fork()
    if child == 0:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        f.load()
        os.execv(binary, args)
    ok = False
    try:
        deadline = time.time() + 60
        cycles = 0.0
        while time.time() < deadline:
            if os.waitpid(child, os.WNOHANG)[0] == child:
                print("unit-seccomp: the agent exited under the filter")
                break
            try:
                text = scrape("http://127.0.0.1:%d/metrics" % port)
                m = re.search(r"^nodecast_forecast_cycles_total (\S+)", text, re.M)
                cycles = float(m.group(1)) if m else 0.0
            except OSError:
                pass
            if cycles >= 1:
                break
            time.sleep(0.5)
        threads = nice_of_threads(child) if cycles >= 1 else {}
        for tid, (comm, nice) in sorted(threads.items()):
            print("unit-seccomp:   thread %s %-16s nice %d" % (tid, comm, nice))
        log.flush()
        text = open(log_path).read()
        warned = "cannot lower the forecast thread" in text
        niced = any(nice >= 10 for _, nice in threads.values())
        print("unit-seccomp: forecast cycles %.0f, a thread at nice >= 10: %s, warning logged: %s"
              % (cycles, niced, warned))
        ok = cycles >= 1 and niced and not warned
        if not ok:
            print("----- agent log (tail)")
            print("\n".join(text.splitlines()[-20:]))
    finally:
        try:
            os.kill(child, signal.SIGTERM)
            os.waitpid(child, 0)
        except OSError:
            pass
        subprocess.run(["rm", "-rf", tmp])
    return 0 if ok else 1


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--effective":
        allow_mode, names, _ = effective(sys.argv[2])
        print("allow-list" if allow_mode else "deny-list")
        print("\n".join(sorted(names)))
        return 0
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    return run(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
