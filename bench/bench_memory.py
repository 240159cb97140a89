"""Peak memory of ``invoke digest`` as its own process, as the input grows.

    python -m bench.bench_memory [--sizes 1MB,10MB,100MB]

Runs ``python -m invoke --search-root <repo> digest FILE --out DIR`` (the CLI path a user and CI
take) once per input and reads the child's peak RSS from ``os.wait4``, and the peak of the RSS of
it and its own children together (the reader's process on large inputs), sampled from ``/proc``. Also measures
``invoke --list`` (interpreter + imports, no transcript) as the floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench.common import CACHE, ROOT, inputs, run_measured


def invoke_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "invoke", "--search-root", str(ROOT), *args]


def run(labels: list[str], cache: Path = CACHE) -> dict[str, Any]:
    data: dict[str, Any] = {}
    env = {**os.environ, "NO_COLOR": "1"}
    work = Path(tempfile.mkdtemp(prefix="memory-", dir=cache))
    try:
        base = work / "baseline"
        base.mkdir()
        data["baseline"] = run_measured(invoke_cmd("--list"), base, env)
        print(f"  baseline (invoke --list): {data['baseline']['peak_rss_mb']:.1f} MB peak RSS")
        for label, (main, truth) in inputs(labels, cache).items():
            cwd = work / label
            cwd.mkdir()
            res = run_measured(invoke_cmd("digest", str(main), "--out", str(cwd / "out")), cwd, env)
            res["bytes"] = truth["bytes_total"]
            if res["code"] != 0:
                raise RuntimeError(f"invoke digest failed on {label}: {res['stderr']}")
            data[label] = res
            print(
                f"  {label}: {res.get('tree_peak_rss_mb', res['peak_rss_mb']):.1f} MB peak RSS "
                f"(all processes), {res['wall_s']:.1f}s wall "
                f"({res['stdout'].strip().splitlines()[0][:100]})"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if "1MB" in data and "100MB" in data:

        def peak(label: str) -> float:
            res = data[label]
            return float(res.get("tree_peak_rss_mb", res["peak_rss_mb"]))

        data["growth_100_over_1"] = peak("100MB") / peak("1MB")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1MB,10MB,100MB")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    print(orjson.dumps(run(args.sizes.split(",")), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
