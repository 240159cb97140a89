"""Where the digest's time goes: stage timings and a cProfile of ``build_digest`` (10 MB input).

    python -m bench.profile_digest [--size 10MB] [--top 25]

Stages, each best of 3 over the same files: the bare orjson pass; the transcript reader alone
(``read_sessions``: parse, normalise, join, deduplicate); reader + events (``_EventBuilder``:
cleaning, excerpts, redaction); the whole ``build_digest`` (+ rendering and writing). The
differences between consecutive stages are what each layer costs. Then cProfile's top functions
by cumulative and by own time. ``run.py`` calls this when the throughput target is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench.common import CACHE, best_of, inputs, transcript_files
from learn.digest import DigestOptions, _EventBuilder, build_digest
from learn.transcripts.files import discover
from learn.transcripts.reader import ReadStats, read_sessions


def _bare(files: list[Path]) -> None:
    for f in files:
        for line in open(f, "rb"):  # noqa: SIM115
            orjson.loads(line)


def _reader(main: Path) -> None:
    for _ in read_sessions(((f.path, f.agent) for f in discover([main])), ReadStats()):
        pass


def _events(main: Path) -> None:
    builder = _EventBuilder(DigestOptions())
    for msg in read_sessions(((f.path, f.agent) for f in discover([main])), ReadStats()):
        for _ in builder.events(msg):
            pass


def stages(main: Path, out: Path, repeat: int = 3) -> dict[str, float]:
    files = transcript_files(main)
    _bare(files)
    return {
        "bare_orjson_s": best_of(lambda: _bare(files), repeat),
        "reader_s": best_of(lambda: _reader(main), repeat),
        "reader_events_s": best_of(lambda: _events(main), repeat),
        "build_digest_s": best_of(lambda: build_digest(discover([main]), out), repeat),
    }


def _name(func: tuple[str, int, str]) -> str:
    path, line, name = func
    if path == "~":
        return name
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if "learn" in parts else Path(path).name
    return f"{short}:{line}({name})"


def cprofile(main: Path, out: Path, top: int = 25) -> dict[str, Any]:
    files = discover([main])
    prof = cProfile.Profile()
    prof.enable()
    build_digest(files, out)
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = [
        {
            "function": _name(func),
            "ncalls": nc,
            "tottime_s": round(tt, 4),
            "cumtime_s": round(ct, 4),
            "cum_pct": round(100 * ct / total, 1),
        }
        for func, (_cc, nc, tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
    ]
    return {
        "total_s": total,
        "by_cumulative": sorted(rows, key=lambda r: -r["cumtime_s"])[:top],
        "by_own_time": sorted(rows, key=lambda r: -r["tottime_s"])[:top],
    }


def print_profile(prof: dict[str, Any], st: dict[str, float], label: str) -> None:
    print(f"\nProfile of build_digest on the {label} input (cProfile total {prof['total_s']:.2f}s)")
    print("  stages (best of 3, no profiler):")
    prev = 0.0
    for name, secs in st.items():
        print(f"    {name:18s} {secs:7.3f}s   (+{secs - prev:.3f}s)")
        prev = secs
    for key, title in (("by_cumulative", "cumulative"), ("by_own_time", "own time")):
        print(f"  top functions by {title}:")
        print(f"    {'cum s':>7} {'own s':>7} {'cum %':>6} {'calls':>9}  function")
        for r in prof[key]:
            print(
                f"    {r['cumtime_s']:7.3f} {r['tottime_s']:7.3f} {r['cum_pct']:6.1f} "
                f"{r['ncalls']:9d}  {r['function']}"
            )


def run(label: str = "10MB", top: int = 25, cache: Path = CACHE) -> dict[str, Any]:
    main, _truth = inputs([label], cache)[label]
    work = Path(tempfile.mkdtemp(prefix="profile-", dir=cache))
    try:
        st = stages(main, work / "stages")
        prof = cprofile(main, work / "prof", top)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_profile(prof, st, label)
    return {"input": label, "stages": st, **prof}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10MB")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    run(args.size, args.top)


if __name__ == "__main__":
    main()
