"""Run a command and write its peak RSS: ``python -I _peak_rss.py RESULT.json -- CMD...``.

A child's ``ru_maxrss`` on Linux also counts the RSS of the process it was forked from (exec
folds the old address space's high-water mark in), so a large benchmark process would mask a
small child. This launcher is a bare interpreter (a few MB): the command is forked from it, and
``os.wait4`` gives that one child's usage. stdout/stderr are inherited.

``ru_maxrss`` is the peak of the largest single process (the command or one of its children),
not of them together; the digest reads large inputs in a second process. So on Linux the
launcher also samples the summed RSS of the command and all its descendants every few
milliseconds (``/proc``): ``tree_peak_rss_mb``. The digest's memory is flat, so a sample
interval of 5 ms misses nothing that matters. A forked child shares its parent's pages, which
that sum counts twice (an upper bound); ``tree_peak_pss_mb`` sums the proportional set sizes
(``/proc/<pid>/smaps_rollup``: a shared page counted once in all), the memory really used.
"""

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _tree(pid):
    """``pid`` and its descendants (Linux ``/proc/<pid>/task/<tid>/children``)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):  # gone meanwhile (the reader's process ends first)
            for task in Path(f"/proc/{p}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in task.read_text().split()]
    return out


def _pss(pid):
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0  # gone meanwhile, or no smaps_rollup (Linux before 4.14)


def _rss(pid):
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0  # gone meanwhile


result_path, sep, *cmd = sys.argv[1:]
assert sep == "--" and cmd, __doc__
t0 = time.perf_counter()
proc = subprocess.Popen(cmd)
tree_peak = tree_pss = 0
if Path("/proc/self/statm").exists():
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        pids = _tree(proc.pid)
        tree_peak = max(tree_peak, sum(_rss(p) for p in pids))
        tree_pss = max(tree_pss, sum(_pss(p) for p in pids))
        time.sleep(0.005)
else:
    _, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
peak = usage.ru_maxrss * scale / 1e6
with open(result_path, "w") as fh:
    json.dump(
        {
            "code": os.waitstatus_to_exitcode(status),
            "wall_s": wall,
            "peak_rss_mb": peak,
            # at least the largest process's own peak (a sample may fall between peaks)
            "tree_peak_rss_mb": max(peak, tree_peak / 1e6),
            "tree_peak_pss_mb": tree_pss / 1e6,
            "user_s": usage.ru_utime,
            "sys_s": usage.ru_stime,
            "launcher_rss_mb": __import__("resource").getrusage(0).ru_maxrss * scale / 1e6,
        },
        fh,
    )
sys.exit(0)
