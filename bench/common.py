"""Shared helpers of the benchmark scripts: paths, inputs, timing, child-process peak memory."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bench import gen_transcript

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CACHE = ROOT / ".nox" / ".cache" / "bench"  # generated inputs live here, never in git
RESULTS = BENCH / "results.json"
LABELS = ("1MB", "10MB", "100MB")
# The throughput stages (bench_digest.py), each timed over the same files in one run.
STAGE_TITLES = {
    "bare": "bare orjson pass",
    "typed": "bare typed decode",
    "reader": "reader alone",
    "digest": "full digest",
    "digest_one_process": "full digest, in one process",
    "digest_extraction": "full digest + extraction",
}


T = TypeVar("T")


def inputs(labels: Sequence[str], cache: Path = CACHE) -> dict[str, tuple[Path, dict[str, Any]]]:
    """``{label: (main transcript, ground truth)}``, generated into the cache when missing."""
    out = {}
    for label in labels:
        t0 = time.perf_counter()
        main, truth = gen_transcript.ensure(cache, label)
        took = time.perf_counter() - t0
        if took > 0.5:
            print(f"  generated {label} input in {took:.1f}s: {truth['bytes_total']:,} bytes")
        out[label] = (main, truth)
    return out


def transcript_files(main: Path) -> list[Path]:
    """The files ``invoke digest <main>`` reads: the session and its subagents."""
    from learn.transcripts.files import discover

    return [f.path for f in discover([main])]


def best_of(fn: Callable[[], object], n: int) -> float:
    return min(timed(fn)[0] for _ in range(n))


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall time of ``fn()`` (after a gc.collect(), outside the timing) and its value."""
    gc.collect()
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def run_measured(
    cmd: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> dict[str, Any]:
    """Run ``cmd``; its exit code, wall time and peak RSS (``wait4``'s rusage of that child).

    The command is started by ``bench/_peak_rss.py``, a bare interpreter: on Linux a child's
    ``ru_maxrss`` includes the RSS of the process it was forked from, and this (large)
    benchmark process would otherwise be what gets measured.
    """
    out_path, err_path, res_path = cwd / "stdout.txt", cwd / "stderr.txt", cwd / "rusage.json"
    launcher = [sys.executable, "-I", str(BENCH / "_peak_rss.py"), str(res_path), "--"]
    with out_path.open("wb") as out, err_path.open("wb") as err:
        done = subprocess.run(
            [*launcher, *cmd], cwd=cwd, env=env, stdout=out, stderr=err, timeout=timeout
        )
    if done.returncode != 0:  # the launcher itself failed: say why
        tail = err_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the measuring launcher failed ({done.returncode}):\n{tail}")
    res: dict[str, Any] = json.loads(res_path.read_text())
    res["stdout"] = out_path.read_text(errors="replace")[-2000:]
    res["stderr"] = err_path.read_text(errors="replace")[-2000:]
    return res


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"
