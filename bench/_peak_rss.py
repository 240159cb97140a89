"""Run a command and write its peak RSS: ``python -I _peak_rss.py RESULT.json -- CMD...``.

A child's ``ru_maxrss`` on Linux also counts the RSS of the process it was forked from (exec
folds the old address space's high-water mark in), so a large benchmark process would mask a
small child. This launcher is a bare interpreter (a few MB): the command is forked from it, and
``os.wait4`` gives that one child's usage. stdout/stderr are inherited.
"""

import json
import os
import subprocess
import sys
import time

result_path, sep, *cmd = sys.argv[1:]
assert sep == "--" and cmd, __doc__
t0 = time.perf_counter()
proc = subprocess.Popen(cmd)
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
with open(result_path, "w") as fh:
    json.dump(
        {
            "code": os.waitstatus_to_exitcode(status),
            "wall_s": wall,
            "peak_rss_mb": usage.ru_maxrss * scale / 1e6,
            "user_s": usage.ru_utime,
            "sys_s": usage.ru_stime,
            "launcher_rss_mb": __import__("resource").getrusage(0).ru_maxrss * scale / 1e6,
        },
        fh,
    )
sys.exit(0)
