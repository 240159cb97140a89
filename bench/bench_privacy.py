"""Privacy: recall and false positives on the synthetic secret corpus, redaction throughput on the
100 MB input, and the digest's throughput before and after the privacy work, in one run.

    python bench/bench_privacy.py [--repeat 3] [--baseline REV]

Recall: the share of planted secrets (``tests/support/secret_corpus.py``) of which nothing is
left, after the first pass alone (``learn.privacy.redact``) and after the whole outbound check
(with the Betterleaks second pass). False positives: the share of harmless look-alikes that the
outbound check changes. Redaction throughput: ``scrub`` (secrets and personal data) over every
string of the 100 MB input. Digest throughput: ``build_digest`` of the current tree and of
``--baseline`` (default: the commit before the privacy work, extracted with ``git archive``), each in
a child process, interleaved, best of N.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.common import CACHE, ROOT, inputs
from learn.digest import build_digest
from learn.privacy.outbound import clean, clean_digest, scrub
from learn.privacy.redact import redact
from learn.transcripts.files import discover
from tests.support import secret_corpus as sc

# "Before": the parent of the commit that added the placeholder allow-list, the first of the
# privacy work (issue 11) — redaction after shortening, the old rule set, no second pass.
FIRST_FILE = "learn/privacy/allowlist.py"
TARGET_DROP = 15.0  # percent of digest throughput the privacy work may cost

_CHILD = """
import sys, time, tempfile
from pathlib import Path
from learn.digest import build_digest
from learn.transcripts.files import discover
main = Path(sys.argv[1])
with tempfile.TemporaryDirectory() as tmp:
    t = time.perf_counter()
    build_digest(discover([main]), Path(tmp))
    print(time.perf_counter() - t)
"""


def corpus() -> dict[str, Any]:
    pos, extra, neg = sc.positives(), sc.scanner_positives(), sc.negatives()

    def kept_out(samples: list[sc.Sample], fn: Any) -> int:
        return sum(1 for s in samples if not any(sc.leaked(n, fn(s.text)) for n in s.needles))

    return {
        "positives": len(pos),
        "scanner_positives": len(extra),
        "negatives": len(neg),
        "first_pass": kept_out(pos, redact),
        "outbound": kept_out(pos + extra, clean),
        "false_positives": sum(1 for s in neg if clean(s.text) != s.text),
    }


def _strings(path: Path) -> list[str]:
    """Every text a digest would scrub: prompts, text, thinking, tool inputs and results."""
    out: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in ("signature", "data", "id", "tool_use_id", "type"):
                    walk(v)

    for f in sorted(path.parent.rglob("*.jsonl")):
        with f.open("rb") as fh:
            for line in fh:
                walk(orjson.loads(line).get("message", {}).get("content"))
    return out


def _child_time(pythonpath: Path, main: Path) -> float:
    env = {"PYTHONPATH": str(pythonpath), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(main)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=pythonpath,
    )
    return float(proc.stdout.strip().splitlines()[-1])


def _baseline_tree(rev: str) -> Path:
    where = CACHE / f"baseline-{rev}"
    if not (where / "learn").is_dir():
        where.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "learn"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def baseline_rev() -> str:
    """The commit before the privacy work (short hash)."""
    log = ["git", "-C", str(ROOT), "log", "--diff-filter=A", "--format=%h", "--", FIRST_FILE]
    added = subprocess.run(log, capture_output=True, text=True, check=True).stdout.split()
    parent = ["git", "-C", str(ROOT), "rev-parse", "--short", f"{added[-1]}^"]
    return subprocess.run(parent, capture_output=True, text=True, check=True).stdout.strip()


def run(repeat: int = 3, baseline: str | None = None) -> dict[str, Any]:
    baseline = baseline or baseline_rev()
    res: dict[str, Any] = {"corpus": corpus(), "baseline": baseline}
    main, truth = inputs(["100MB"])["100MB"]
    size = truth["bytes_total"]
    texts = _strings(main)
    chars = sum(map(len, texts))
    best = min(_timed(lambda: [scrub(t) for t in texts]) for _ in range(repeat))
    res["redaction"] = {"chars": chars, "seconds": best, "mb_s": chars / best / 1e6}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        build_digest(discover([main]), out)
        digest_bytes = sum(p.stat().st_size for p in out.iterdir())
        took = _timed(lambda: clean_digest(out))
    res["second_pass"] = {"bytes": digest_bytes, "seconds": took, "mb_s": digest_bytes / took / 1e6}
    before_tree = _baseline_tree(baseline)
    times: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(repeat):
        times["before"].append(_child_time(before_tree, main))
        times["after"].append(_child_time(ROOT, main))
    before, after = min(times["before"]), min(times["after"])
    res["digest"] = {
        "bytes": size,
        "before_mb_s": size / before / 1e6,
        "after_mb_s": size / after / 1e6,
        "drop_pct": 100 * (1 - before / after),
    }
    return res


def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _change(drop_pct: float) -> str:
    return f"drop {drop_pct:.1f}%" if drop_pct > 0 else f"{-drop_pct:.1f}% faster"


def rows(res: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    c, r, s, d = res["corpus"], res["redaction"], res["second_pass"], res["digest"]
    pos, allpos = c["positives"], c["positives"] + c["scanner_positives"]
    fp = 100 * c["false_positives"] / c["negatives"]
    ok = "PASS" if c["outbound"] == allpos else "FAIL"
    return [
        (
            "secret recall, synthetic corpus (first pass; outbound check)",
            f"{c['first_pass']}/{pos}; {c['outbound']}/{allpos}",
            "100%",
            ok,
        ),
        (
            "false positives, synthetic corpus (outbound check)",
            f"{c['false_positives']}/{c['negatives']} ({fp:.1f}%)",
            "<= 3%",
            "PASS" if fp <= 3 else "FAIL",
        ),
        (
            "redaction throughput, 100MB input (secrets + personal data)",
            f"{r['mb_s']:.0f} MB/s ({r['chars'] / 1e6:.0f}M chars in {r['seconds']:.2f}s)",
            "-",
            "info",
        ),
        (
            "secret scanner second pass over the 100MB digest",
            f"{s['mb_s']:.1f} MB/s ({s['bytes'] / 1e6:.1f} MB in {s['seconds']:.2f}s)",
            "-",
            "info",
        ),
        (
            f"digest throughput 100MB, {res['baseline']} -> now",
            f"{d['before_mb_s']:.1f} -> {d['after_mb_s']:.1f} MB/s ({_change(d['drop_pct'])})",
            f"drop <= {TARGET_DROP:.0f}%",
            "PASS" if d["drop_pct"] <= TARGET_DROP else "FAIL",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default=None, help="git revision (default: before issue 11)")
    args = parser.parse_args(argv)
    res = run(args.repeat, args.baseline)
    for row in rows(res):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
