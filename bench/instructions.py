"""Instructions each side of the two-process digest executes: a measure machine noise leaves alone.

    python -m bench.instructions [--size 100MB] [--side both|reader|digest]

On a shared machine the wall time of the two-process digest swings from run to run (it needs both
cores at once), too much to see a change of a few percent. Instruction counts do not swing. Each
side is run under valgrind's cachegrind, in one process, on the bench input of ``--size``:

- ``reader``: the reader process's work after its start-up (``background_child._serve`` with the
  digest's preparer, writing its frames into memory);
- ``digest``: ``build_digest`` from the frames onward (decoding them, events, redaction,
  rendering, writing), fed the frames the reader side wrote, replayed from memory.

A side is counted once with and once without one run of it (imports, compiling and the input's
setup are in both), and the difference is printed in millions. Needs valgrind on PATH (not part
of CI). Compare two commits by running this in each checkout.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.common import CACHE, inputs
from learn import digest
from learn.digest import DigestOptions, build_digest
from learn.privacy import triggers
from learn.transcripts import background, background_child
from learn.transcripts.files import discover
from learn.transcripts.reader import Message

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _frames(sources: list[tuple[Path, str]]) -> bytes:
    out = io.BytesIO()
    background_child._serve(sources, out, digest._ahead(DigestOptions()))
    return out.getvalue()


def _replay(frames: bytes) -> Iterator[Message]:
    stream = io.BytesIO(frames)
    decode = background._decoders()[0]
    while True:
        kind, size = background_child.HEADER.unpack(stream.read(background_child.HEADER.size))
        body = stream.read(size)
        if kind != background_child.MSGPACK:
            return
        yield from decode(body)


def _run(side: str, size: str, times: int) -> None:
    """Set up, then run ``side`` ``times`` times (the part valgrind counts)."""
    main, _ = inputs([size], CACHE)[size]
    files = discover([main])
    sources = [(f.path, f.agent) for f in files]
    triggers.serialized()  # compiled here, as the parent does before the child starts
    frames = _frames(sources)
    out = Path(tempfile.mkdtemp(prefix="instructions-"))
    try:
        digest.read_in_background = lambda *_a, **_k: _replay(frames)  # type: ignore[assignment]
        build_digest(files, out, DigestOptions(background=True))  # warm: patterns, databases
        for _ in range(times):
            if side == "reader":
                _frames(sources)
            else:
                build_digest(files, out, DigestOptions(background=True))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _count(side: str, size: str, times: int) -> int:
    cmd = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.instructions",
        "--run",
        side,
        "--size",
        size,
        "--times",
        str(times),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    found = _REFS.search(proc.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{proc.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100MB")
    parser.add_argument("--side", choices=["both", "reader", "digest"], default="both")
    parser.add_argument("--run", choices=["reader", "digest"], help=argparse.SUPPRESS)
    parser.add_argument("--times", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        _run(args.run, args.size, args.times)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not on PATH: install it (apt install valgrind) to count instructions")
    CACHE.mkdir(parents=True, exist_ok=True)
    for side in ["reader", "digest"] if args.side == "both" else [args.side]:
        one = _count(side, args.size, 1) - _count(side, args.size, 0)
        print(f"{side} side, {args.size}: {one / 1e6:,.0f} M instructions")


if __name__ == "__main__":
    main()
