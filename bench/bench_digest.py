"""Digest throughput (against a bare orjson pass), reduction, and retention against ground truth.

    python -m bench.bench_digest [--sizes 1MB,10MB] [--repeat 3]

Throughput: best-of-N wall time, interleaved in one process over the same files so every stage
sees the same machine state, of five stages, each as MB/s and as a ratio to the first:

- ``bare orjson pass``: ``for line in open(f, 'rb'): orjson.loads(line)`` — the floor of any
  Python-level reader, and what the target is defined against;
- ``bare typed decode``: the same loop decoding each line into the reader's Structs (msgspec);
- ``reader``: ``read_sessions`` alone (decode, normalise, join, deduplicate);
- ``digest``: ``build_digest`` (+ events, redaction, rendering, writing) — the target row; from
  8 MiB of input (a fork; 32 MiB where the process cannot fork) the transcript is read in a
  second process (``learn.transcripts.background``);
- ``digest, one process``: the same with ``DigestOptions(background=False)``;
- ``digest + extraction``: the digest, then lesson extraction over its events
  (``learn.lessons``), as the offline engine runs them.

Reduction: raw bytes of all files / characters of the digest chunks (the same 4 characters per
token on both sides). Retention, from the digest's ``events.jsonl`` (``load_events``), against
the generator's ``truth.json``: every non-meta prompt (its scrubbed first 200 characters inside a
``prompt`` event), the number of ``is_error`` results, every Edit/Write path in a ``call``
event's parameters; and no planted secret anywhere in the output.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson

from bench.common import CACHE, ROOT, inputs, timed, transcript_files
from learn.digest import CHARS_PER_TOKEN, DigestOptions, DigestResult, build_digest, load_events
from learn.lessons.candidates import extract
from learn.privacy.outbound import scrub
from learn.transcripts.files import discover
from learn.transcripts.reader import LINE_DECODER, read_sessions

EDIT_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit"})


def bare_pass(files: list[Path]) -> int:
    n = 0
    for f in files:
        for line in open(f, "rb"):  # noqa: SIM115 - the exact loop the target is defined by
            orjson.loads(line)
            n += 1
    return n


def typed_pass(files: list[Path]) -> int:
    """:func:`bare_pass` with the reader's typed decoding instead of ``orjson.loads``."""
    decode, n = LINE_DECODER.decode, 0
    for f in files:
        for line in open(f, "rb"):  # noqa: SIM115 - the same loop as bare_pass
            try:  # noqa: SIM105 - free when nothing is raised; suppress() costs per line
                decode(line)
            except msgspec.DecodeError:  # a line of a shape the Structs do not declare
                pass
            n += 1
    return n


def reader_pass(main: Path) -> int:
    return sum(1 for _ in read_sessions((f.path, f.agent) for f in discover([main])))


def digest_once(main: Path, out: Path, opts: DigestOptions | None = None) -> DigestResult:
    return build_digest(discover([main]), out, opts)


def digest_and_extract(main: Path, out: Path) -> int:
    """The digest, then lesson extraction over its events (what the offline engine runs)."""
    digest_once(main, out)
    return len(extract(load_events(out)))


def throughput(main: Path, repeat: int, out: Path) -> dict[str, Any]:
    files = transcript_files(main)
    size = sum(f.stat().st_size for f in files)
    result: DigestResult | None = None

    def digest() -> None:
        nonlocal result
        result = digest_once(main, out)

    runs: dict[str, Callable[[], object]] = {
        "bare": lambda: bare_pass(files),
        "typed": lambda: typed_pass(files),
        "reader": lambda: reader_pass(main),
        "digest": digest,
        "digest_one_process": lambda: digest_once(main, out, DigestOptions(background=False)),
        "digest_extraction": lambda: digest_and_extract(main, out),
    }
    bare_pass(files)  # warm the page cache and the imports
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):  # interleaved: bare, typed, reader, digest, ..., bare, typed, ...
        for name, run in runs.items():
            times[name].append(timed(run)[0])
    best = {name: min(t) for name, t in times.items()}
    assert result is not None
    stages = {
        name: {
            "best_s": best[name],
            "runs_s": times[name],
            "mb_s": size / 1e6 / best[name],
            "ratio": best["bare"] / best[name],  # speed as a fraction of the bare orjson pass
        }
        for name in runs
    }
    return {
        "bytes": size,
        "files": len(files),
        "repeat": repeat,
        "stages": stages,
        "bare_best_s": best["bare"],
        "digest_best_s": best["digest"],
        "ratio": stages["digest"]["ratio"],  # >= 0.5 wanted
        "digest_mb_s": stages["digest"]["mb_s"],
        "bare_mb_s": stages["bare"]["mb_s"],
        "summary": result.summary(),
        "chars_out": result.chars_out,
        "chunks": len(result.chunks),
        "events": result.events,
    }


def reduction(raw_bytes: int, chars_out: int) -> dict[str, Any]:
    return {
        "raw_bytes": raw_bytes,
        "raw_tokens": raw_bytes // CHARS_PER_TOKEN,
        "digest_chars": chars_out,
        "digest_tokens": chars_out // CHARS_PER_TOKEN,
        "factor": raw_bytes / max(chars_out, 1),  # >= 15 wanted
    }


def retention(out: Path, truth: dict[str, Any]) -> dict[str, Any]:
    prompts: list[str] = []
    errors = 0
    edit_params: set[str] = set()
    for ev in load_events(out):
        if ev.kind == "prompt":
            prompts.append(ev.text)
        elif ev.kind == "result" and ev.is_error:
            errors += 1
        elif ev.kind == "call" and ev.tool in EDIT_TOOLS:
            edit_params.update(ev.params.values())
    haystack = "\x00".join(prompts)
    missing_prompts = []
    for p in truth["prompts"]:
        needle = scrub(p["text"].strip())[:200]  # as the digest scrubs it (secrets, home paths)
        if needle not in haystack:
            missing_prompts.append(p["text"][:120])
    missing_paths = [p for p in truth["edited_paths"] if p not in edit_params]
    expected_errors = truth["tool_errors"]
    leaked = []
    outputs = [*out.glob("digest-*.md"), out / "events.jsonl"]
    blob = b"".join(p.read_bytes() for p in outputs)
    leaked = [s[:8] + "…" for s in truth["secrets"] if s.encode() in blob]
    n_prompts = len(truth["prompts"])
    n_paths = len(truth["edited_paths"])
    return {
        "prompts_expected": n_prompts,
        "prompts_found": n_prompts - len(missing_prompts),
        "prompts_pct": 100.0 * (n_prompts - len(missing_prompts)) / max(n_prompts, 1),
        "prompts_missing": missing_prompts[:10],
        "tool_errors_expected": expected_errors,
        "tool_errors_found": errors,
        "tool_errors_pct": 100.0 * min(errors, expected_errors) / max(expected_errors, 1)
        if errors <= expected_errors
        else 0.0,  # more error results than the transcript has is just as wrong
        "edited_paths_expected": n_paths,
        "edited_paths_found": n_paths - len(missing_paths),
        "edited_paths_pct": 100.0 * (n_paths - len(missing_paths)) / max(n_paths, 1),
        "edited_paths_missing": missing_paths[:10],
        "secrets_planted": len(truth["secrets"]),
        "secrets_leaked": leaked,
    }


def example_reduction(work: Path) -> dict[str, Any]:
    """The same figure on the genuine transcripts in examples/ (small; a reference point)."""
    out = {}
    for path in sorted((ROOT / "examples").glob("*.jsonl")):
        result = digest_once(path, work / path.stem)
        out[path.name] = reduction(path.stat().st_size, result.chars_out)
    return out


def run(labels: list[str], repeat: int, cache: Path = CACHE) -> dict[str, Any]:
    data: dict[str, Any] = {"throughput": {}, "reduction": {}, "retention": {}}
    work = Path(tempfile.mkdtemp(prefix="digest-", dir=cache))
    try:
        for label, (main, truth) in inputs(labels, cache).items():
            out = work / label
            tp = throughput(main, repeat, out)
            data["throughput"][label] = tp
            data["reduction"][label] = reduction(tp["bytes"], tp["chars_out"])
            data["retention"][label] = retention(out, truth)
            stages = ", ".join(
                f"{name} {st['mb_s']:.0f} MB/s ({st['ratio']:.2f}x)"
                for name, st in tp["stages"].items()
            )
            print(f"  {label}: {stages}; reduction {data['reduction'][label]['factor']:.1f}x")
        data["reduction"]["examples"] = example_reduction(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1MB,10MB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    print(
        orjson.dumps(run(args.sizes.split(","), args.repeat), option=orjson.OPT_INDENT_2).decode()
    )


if __name__ == "__main__":
    main()
