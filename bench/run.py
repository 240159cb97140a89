"""Run every benchmark, print the table, write bench/results.json (see bench/README.md).

    nox -s bench                                # what to run
    nox -s bench -- --sizes 1MB,10MB --skip startup
    python -m bench.run --help                  # in a venv with the project installed

Inputs are generated once into .nox/.cache/bench/ (keyed by the generator's source hash).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.common import CACHE, LABELS, RESULTS, ROOT, STAGE_TITLES, inputs
from learn.engines.claude import FIRST_REQUEST_TOKENS

SECTIONS = ("throughput", "memory", "github", "startup", "tokens", "learning", "privacy")

# The targets (bench/README.md says why each is what it is).
TARGET_RATIO = 0.5  # digest speed / bare orjson pass, on the 100 MB input (sustained speed)
TARGET_RSS_MB = 150.0  # peak RSS of `invoke digest` on the 100 MB input
TARGET_RSS_GROWTH = 1.5  # peak RSS 100 MB input / 1 MB input ("flat")
TARGET_REDUCTION = 15.0  # raw bytes / digest characters
TARGET_GITHUB = 10  # API requests of one PR-path run


def machine() -> dict[str, Any]:
    import orjson as oj

    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "orjson": oj.__version__,
    }
    try:
        meminfo = Path("/proc/meminfo").read_text().split("\n")[0]
        info["mem_total_mb"] = int(meminfo.split()[1]) // 1024
    except (OSError, IndexError, ValueError):
        pass
    try:
        git = ["git", "-C", str(ROOT)]
        info["commit"] = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
        info["dirty"] = bool(dirty.stdout.strip())
    except OSError:
        pass
    return info


Row = tuple[str, str, str, str]  # metric, value, target, PASS/FAIL/info


def check(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def rows_for(res: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    tp = res.get("throughput", {})
    for label, t in tp.items():
        checked = label == "100MB"  # smaller inputs: reported (fixed costs; bench/README.md)
        rows.append(
            (
                f"digest throughput, {label} (x bare orjson pass)",
                f"{t['ratio']:.3f}x ({t['digest_mb_s']:.1f} vs {t['bare_mb_s']:.0f} MB/s)",
                f">= {TARGET_RATIO}x" if checked else "-",
                check(t["ratio"] >= TARGET_RATIO) if checked else "info",
            )
        )
        for name, st in t.get("stages", {}).items():  # the same run, the same files
            rows.append(
                (
                    f"  {STAGE_TITLES[name]}, {label}",
                    f"{st['ratio']:.3f}x ({st['mb_s']:.1f} MB/s)",
                    "-",
                    "info",
                )
            )
    mem = res.get("memory", {})
    if "baseline" in mem:
        rows.append(
            (
                "peak RSS, invoke --list (floor)",
                f"{mem['baseline']['peak_rss_mb']:.1f} MB",
                "-",
                "info",
            )
        )
    for label in LABELS:
        if label in mem:
            # All processes together (the reader may run in a second one), where measured.
            peak = mem[label].get("tree_peak_rss_mb", mem[label]["peak_rss_mb"])
            target = f"<= {TARGET_RSS_MB:.0f} MB" if label == "100MB" else "-"
            status = check(peak <= TARGET_RSS_MB) if label == "100MB" else "info"
            largest = mem[label]["peak_rss_mb"]
            pss = mem[label].get("tree_peak_pss_mb")
            shared = f"; proportional {pss:.1f} MB" if pss else ""  # shared pages counted once
            rows.append(
                (
                    f"peak RSS, invoke digest {label} (all processes)",
                    f"{peak:.1f} MB (largest process {largest:.1f} MB{shared})",
                    target,
                    status,
                )
            )
    if "growth_100_over_1" in mem:
        g = mem["growth_100_over_1"]
        rows.append(
            (
                "peak RSS growth, 100MB / 1MB",
                f"{g:.2f}x",
                f"<= {TARGET_RSS_GROWTH}x",
                check(g <= TARGET_RSS_GROWTH),
            )
        )
    red = res.get("reduction", {})
    for label in LABELS:
        if label in red:
            f = red[label]["factor"]
            tokens = f"{red[label]['raw_tokens']:,} -> {red[label]['digest_tokens']:,} tok"
            rows.append(
                (
                    f"reduction, {label} (raw / digest)",
                    f"{f:.1f}x ({tokens})",
                    f">= {TARGET_REDUCTION:.0f}x",
                    check(f >= TARGET_REDUCTION),
                )
            )
    for name, r in red.get("examples", {}).items():
        rows.append((f"reduction, examples/{name}", f"{r['factor']:.1f}x", "-", "info"))
    ret = res.get("retention", {})
    if ret:
        labels = [lb for lb in LABELS if lb in ret]
        for key, title in (
            ("prompts", "non-meta prompts retained"),
            ("tool_errors", "tool errors retained"),
            ("edited_paths", "edited paths retained"),
        ):
            vals = [ret[lb][f"{key}_pct"] for lb in labels]
            counts = [f"{ret[lb][f'{key}_found']}/{ret[lb][f'{key}_expected']}" for lb in labels]
            rows.append(
                (
                    f"{title} ({'/'.join(labels)})",
                    " ".join(f"{v:.0f}%" for v in vals) + f" ({' '.join(counts)})",
                    "100%",
                    check(all(v == 100.0 for v in vals)),
                )
            )
        leaked = sum(len(ret[lb]["secrets_leaked"]) for lb in labels)
        planted = sum(ret[lb]["secrets_planted"] for lb in labels)
        rows.append(
            ("planted secrets in digest output", f"{leaked} of {planted}", "0", check(leaked == 0))
        )
    gh = res.get("github", {})
    if gh:
        pr, nc = gh["pr_path"], gh["no_changes_path"]
        rows.append(
            (
                "GitHub API requests, PR path",
                str(pr["api_requests"]),
                f"<= {TARGET_GITHUB}",
                check(pr["api_requests"] <= TARGET_GITHUB),
            )
        )
        rows.append(("GitHub blob downloads, PR path", str(pr["blob_downloads"]), "-", "info"))
        rows.append(("GitHub API requests, no-changes path", str(nc["api_requests"]), "-", "info"))
        rows.append(
            ("GitHub blob downloads, no-changes path", str(nc["blob_downloads"]), "-", "info")
        )
    st = res.get("startup", {})
    if st:
        b = st["best_s"]
        rows.append(
            (
                "CI step start-up (nox -R / import learn)",
                f"{st['ratio']:.0f}x ({b['nox_step']:.2f}s vs {b['import_learn']:.3f}s)",
                "-",
                "info",
            )
        )
        rows.append(
            (
                "  of which nox itself (nox -R - invoke --help)",
                f"{st['nox_overhead_s']:.2f}s",
                "-",
                "info",
            )
        )
    rows += learning_rows(res.get("learning", {}))
    for name, t in res.get("tokens", {}).items():
        if isinstance(t, dict) and t.get("first_request_tokens"):
            rows.append(
                (
                    f"Claude engine's first request, {name}",
                    f"{t['first_request_tokens']:,} tok (evidence pack {t['pack_chars']:,} chars; "
                    f"whole run {t['tokens_sent']:,} tok in {t['requests']} requests)",
                    f"<= {FIRST_REQUEST_TOKENS:,}",
                    check(t["first_request_tokens"] <= FIRST_REQUEST_TOKENS),
                )
            )
        elif isinstance(t, dict):
            rows.append(
                (
                    f"tokens to the model, examples/{name}",
                    f"{t['tokens_sent']:,} in {t['requests']} requests (raw ~{t['raw_tokens']:,}, "
                    f"digest ~{t['digest_tokens']:,})",
                    "-",
                    "info",
                )
            )
    if "privacy" in res:
        from bench import bench_privacy

        rows += bench_privacy.rows(res["privacy"])
    return rows


def learning_rows(lr: dict[str, Any]) -> list[Row]:
    """Recall by kind, doc size and noise of the offline learn on the labelled corpus."""
    if "recall" not in lr:
        return [("learning quality (../shared/corpus)", lr.get("skipped", "not run"), "-", "skip")]
    from bench.bench_learning import TARGETS as t

    rows: list[Row] = [
        (
            "learning recall, all kinds (../shared/corpus)",
            f"{lr['captured']}/{lr['total']} ({lr['recall']:.1f}%)",
            f">= {t['recall']:.0f}%",
            check(lr["recall"] >= t["recall"]),
        )
    ]
    for kind, v in lr["by_kind"].items():
        pct = 100 * v["captured"] / v["total"] if v["total"] else 100.0
        rows.append(
            (
                f"  recall, {kind}",
                f"{v['captured']}/{v['total']} ({pct:.0f}%)",
                f">= {t['per_kind']:.0f}%",
                check(pct >= t["per_kind"]),
            )
        )
    rows.append(
        (
            "learned doc characters per session (index included)",
            f"{lr['avg_doc_chars']:,}",
            f"<= {t['chars']:,}",
            check(lr["avg_doc_chars"] <= t["chars"]),
        )
    )
    rows.append(("noise in learned docs", str(lr["noise"]), "0", check(lr["noise"] == 0)))
    return rows


def print_table(rows: list[Row]) -> None:
    head = ("metric", "value", "target", "result")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print("\n" + "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    print(line)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(line)


def _section(module: str) -> Any:
    """A benchmark module, imported when its section runs (some need the CLI or the corpus)."""
    return importlib.import_module(f"bench.{module}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default=",".join(LABELS), help="comma-separated, of 1MB,10MB,100MB"
    )
    parser.add_argument("--repeat", type=int, default=5, help="best of N")
    parser.add_argument(
        "--skip", default="", help=f"comma-separated sections to skip: {','.join(SECTIONS)}"
    )
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="cProfile the 10MB digest (auto: when the throughput target is missed)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    labels = [s for s in args.sizes.split(",") if s]
    unknown = [s for s in labels if s not in LABELS]
    if unknown or args.repeat < 3:
        parser.error(f"unknown size(s) {unknown}" if unknown else "--repeat must be >= 3")
    skip = set(filter(None, args.skip.split(",")))

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    CACHE.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine(),
    }
    print(
        f"bench: {res['machine']['cpu_count']} CPUs, Python {res['machine']['python']}, inputs in {CACHE}"
    )

    print("inputs")
    res["inputs"] = {
        label: {
            k: truth[k]
            for k in (
                "bytes_total",
                "bytes_main",
                "files",
                "lines",
                "episodes",
                "tool_results",
                "tool_errors",
                "composition",
            )
        }
        | {
            "prompts": len(truth["prompts"]),
            "edited_paths": len(truth["edited_paths"]),
            "path": str(main),
        }
        for label, (main, truth) in inputs(labels).items()
    }
    timings: dict[str, float] = {}
    # (section, what it measures, how): each section's results go under its name (throughput's
    # at the top level); its module is imported only when it runs
    sections: list[tuple[str, str, Callable[[], Any]]] = [
        (
            "throughput",
            "digest throughput, reduction, retention",
            lambda: _section("bench_digest").run(labels, args.repeat),
        ),
        (
            "memory",
            "peak memory of `invoke digest`",
            lambda: _section("bench_memory").run(labels),
        ),
        (
            "github",
            "GitHub requests per run",
            lambda: _section("bench_github").run(),
        ),
        (
            "startup",
            "CI step start-up",
            lambda: _section("bench_startup").run(args.repeat),
        ),
        (
            "tokens",
            "tokens sent to the model per example (real Claude Code CLI, fake Messages API)",
            lambda: _section("bench_tokens").run(labels),
        ),
        (
            "learning",
            "learning quality: offline learn over ../shared/corpus, scored by its score.py",
            lambda: _section("bench_learning").run(),
        ),
        (
            "privacy",
            "privacy: secret corpus, redaction throughput, digest before/after",
            lambda: _section("bench_privacy").run(max(3, args.repeat - 2)),
        ),
    ]
    for name, title, measure in sections:
        if name in skip:
            continue
        print(title)
        s = time.perf_counter()
        out = measure()
        if name == "throughput":
            res.update(out)
        else:
            res[name] = out
        timings[name] = time.perf_counter() - s

    missed_speed = res.get("throughput", {}).get("100MB", {}).get("ratio", 1.0) < TARGET_RATIO
    if args.profile == "always" or (args.profile == "auto" and missed_speed):
        from bench import profile_digest

        s = time.perf_counter()
        res["profile"] = profile_digest.run("10MB")
        timings["profile"] = time.perf_counter() - s

    rows = rows_for(res)
    print_table(rows)
    failed = [r[0] for r in rows if r[3] == "FAIL"]
    res["table"] = [
        dict(zip(("metric", "value", "target", "result"), r, strict=True)) for r in rows
    ]
    res["targets_missed"] = failed
    res["section_seconds"] = timings
    res["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    res["duration_s"] = time.perf_counter() - t0
    args.out.write_bytes(orjson.dumps(res, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    print(f"{len(failed)} target(s) missed; {res['duration_s']:.0f}s; raw numbers in {args.out}")
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
