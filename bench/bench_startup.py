"""Start-up cost of one CI step: ``nox -R -s learn -- --help`` against ``python -c 'import learn'``.

    python -m bench.bench_startup [--repeat 5]

Each workflow step runs ``nox -s learn -- <task>``. This times the fixed part of such a step on a
reused venv (``-R``: no install), against the floor of starting the same venv's interpreter and
importing the package. ``invoke --help`` straight from the venv is also timed, to split the cost
into nox's own start-up and invoke's. The learn venv is created first (one untimed run).

The nox that runs the benchmark is used (``BENCH_NOX_PYTHON``, set by the ``bench`` session, is
the interpreter running nox); otherwise ``nox`` on PATH.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from bench.common import ROOT


def nox_cmd() -> list[str]:
    python = os.environ.get("BENCH_NOX_PYTHON")
    if python:
        return [python, "-m", "nox"]
    found = shutil.which("nox")
    if not found:
        raise RuntimeError("nox not found: run through `nox -s bench` or put nox on PATH")
    return [found]


def clean_env() -> dict[str, str]:
    """The environment without the bench session's venv, so the nested nox is a plain one."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "NOX_CURRENT_SESSION")}
    venv_bin = str(Path(sys.prefix) / "bin")
    if sys.prefix != sys.base_prefix:
        env["PATH"] = os.pathsep.join(
            p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin
        )
    return env


def _run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return took


def run(repeat: int = 5) -> dict[str, Any]:
    env = clean_env()
    nox = nox_cmd()
    setup = _run([*nox, "-s", "learn", "--", "--help"], env)  # creates/updates .nox/learn
    venv = ROOT / ".nox" / "learn" / "bin"
    commands = {
        "nox_step": [*nox, "-R", "-s", "learn", "--", "--help"],
        "import_learn": [str(venv / "python"), "-c", "import learn"],
        "invoke_help": [str(venv / "invoke"), "--help"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):  # interleaved
        for name, cmd in commands.items():
            times[name].append(_run(cmd, env))
    best = {name: min(t) for name, t in times.items()}
    data = {
        "nox": " ".join(nox),
        "setup_s": setup,
        "repeat": repeat,
        "times_s": times,
        "best_s": best,
        "ratio": best["nox_step"] / best["import_learn"],
        "nox_overhead_s": best["nox_step"] - best["invoke_help"],
    }
    print(
        f"  nox -R -s learn -- --help: {best['nox_step']:.2f}s; import learn: "
        f"{best['import_learn']:.3f}s ({data['ratio']:.0f}x); invoke --help: "
        f"{best['invoke_help']:.2f}s (first run incl. venv setup {setup:.1f}s)"
    )
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(orjson.dumps(run(args.repeat), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
