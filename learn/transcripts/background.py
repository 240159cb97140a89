"""The transcript reader in a second process, for large inputs.

The digest is CPU-bound and has two halves of similar weight: reading (decode, normalise, join,
deduplicate: :func:`learn.transcripts.reader.read_sessions`) and what is done with each message
(events, redaction, rendering). On a machine with two or more cores, :func:`read_in_background`
runs the first half in a child process while the caller does the second, so a large session is
digested in about the time of the second half alone.

The child is a fresh interpreter running this module (the same on every operating system; no
fork of a process that may hold threads or locks; about 0.07 s to start). It reads the sources
from its stdin and writes frames to its stdout: batches of messages encoded with msgspec's
MessagePack (pickle for a batch MessagePack cannot hold, such as an integer beyond 64 bits),
then its :class:`ReadStats`, or the exception that stopped it. The pipe's buffer bounds what is
in flight, so memory stays flat. The messages, their order and the statistics are exactly those
of ``read_sessions`` (tested), each as the caller's ``prepare`` left it, if it gave one: the work
it can have done there (the digest's is :mod:`learn.ahead`). An exception in the child (an unreadable file) is raised again in the caller; when
the caller stops early or is interrupted, the child is ended. The child ignores Ctrl-C: the
caller decides.

Small inputs are read in-process: starting a process costs more than it saves
(:func:`worth_a_process`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import IO, Any

import msgspec
import orjson

from learn.errors import SystemProblem
from learn.privacy import triggers
from learn.transcripts.reader import Message, ReadStats, read_sessions

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["BACKGROUND_FROM_BYTES", "read_in_background", "worth_a_process"]

#: Inputs at least this large are read in a second process (when there is a second core).
BACKGROUND_FROM_BYTES = 32 << 20
_BATCH = 64  # messages per frame: small enough that both processes stay busy
_PIPE_BYTES = 1 << 20  # the pipe's buffer where it can be widened (Linux: 64 KiB by default)

_MSGPACK, _PICKLE, _STATS, _ERROR = b"M", b"P", b"S", b"E"
_HEADER = struct.Struct(">cI")  # a frame: its kind, the length of what follows
_DECODE = msgspec.msgpack.Decoder(list[Message]).decode
# The child imports the very ``learn`` package this process runs (wherever it was found: an
# installation, a checkout on PYTHONPATH, invoke's search root), and everything else from its
# usual path; ``-P``: not from the current folder (a repository may have its own ``learn/``).
_PACKAGE = Path(__file__).resolve().parents[1]
_BOOT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location(
    "learn", sys.argv[1], submodule_search_locations=[sys.argv[2]]
)
learn = importlib.util.module_from_spec(spec)
sys.modules["learn"] = learn
spec.loader.exec_module(learn)
from learn.transcripts.background import _main
_main()
"""


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def worth_a_process(sizes: Sequence[int]) -> bool:
    """Whether input files of these sizes are better read in a second process."""
    return sum(sizes) >= BACKGROUND_FROM_BYTES and _cores() >= 2


# --- the child ---------------------------------------------------------------------------


def _serve(
    sources: list[tuple[Path, str]], out: IO[bytes], prepare: Callable[[Message], None] | None
) -> None:
    """Read, and write the messages (each ``prepare``-d first), then the statistics or the
    error, as frames."""
    encode = msgspec.msgpack.Encoder().encode

    def frame(kind: bytes, payload: bytes) -> None:
        out.write(_HEADER.pack(kind, len(payload)))
        out.write(payload)

    def send(batch: list[Message]) -> None:
        try:
            frame(_MSGPACK, encode(batch))
        except (OverflowError, msgspec.EncodeError):  # e.g. an integer beyond 64 bits
            frame(_PICKLE, pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))

    stats = ReadStats()
    try:
        batch: list[Message] = []
        for msg in read_sessions(sources, stats):
            if prepare is not None:
                prepare(msg)
            _note_triggers(msg)
            batch.append(msg)
            if len(batch) == _BATCH:
                send(batch)
                batch = []
        if batch:
            send(batch)
        frame(_STATS, pickle.dumps(stats))
    except Exception as exc:  # handed to the parent, which raises it
        try:
            payload = pickle.dumps(exc)
        except Exception:  # an exception that cannot be pickled
            payload = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
        frame(_ERROR, payload)
    out.flush()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _note_triggers(msg: Message) -> None:
    """Work out each block's privacy triggers here, where there is time to spare, so the
    digest needs no Hyperscan pass of its own for a text (or a part of it) that fires none.
    A tool call's strings are joined: what fires in one of them fires in the whole."""
    for block in msg.blocks:
        if block.excerpt is not None:
            continue  # made here already: the caller does not scrub it
        text = "\n".join(_strings(block.input)) if block.kind == "tool_use" else block.text
        block.fired = triggers.fired(text.encode("utf-8", "surrogatepass")) if text else 0


def _main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    header, database = sys.stdin.buffer.read().split(b"\n", 1)
    triggers.use_serialized(database)  # the parent's: no compiling here
    asked = orjson.loads(header)
    sources = [(Path(path), agent) for path, agent in asked["sources"]]
    prepare = _prepare(asked["prepare"]) if asked["prepare"] else None
    with contextlib.suppress(BrokenPipeError):  # the parent stopped listening
        _serve(sources, sys.stdout.buffer, prepare)


def _prepare(name: str) -> Callable[[Message], None]:
    """A new instance of the preparer named ``module:class``."""
    module, _, attribute = name.partition(":")
    factory: Callable[[], Callable[[Message], None]] = getattr(
        importlib.import_module(module), attribute
    )
    return factory()


# --- the parent --------------------------------------------------------------------------


def _start(sources: Sequence[tuple[Path, str]], prepare: str | None) -> subprocess.Popen[bytes]:
    package = [str(_PACKAGE / "__init__.py"), str(_PACKAGE)]
    child = subprocess.Popen(
        [sys.executable, "-P", "-c", _BOOT, *package], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdin is not None and child.stdout is not None
    if fcntl is not None and hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: the child writes ahead
        with contextlib.suppress(OSError):  # above the system's limit: the default stays
            fcntl.fcntl(child.stdout.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    # The sources, then the triggers' database (compiled here while the child starts). A child
    # that is gone already is reported by the reading (its exit code).
    with contextlib.suppress(BrokenPipeError), child.stdin:
        asked = {"sources": [[str(path), agent] for path, agent in sources], "prepare": prepare}
        child.stdin.write(orjson.dumps(asked) + b"\n")
        child.stdin.write(triggers.serialized())
    return child


def _read_exactly(stream: IO[bytes], n: int, child: subprocess.Popen[bytes]) -> bytes:
    data = stream.read(n)
    if len(data) != n:  # the child is gone without a word
        code = child.wait()
        raise SystemProblem(
            f"the transcript reader process ended unexpectedly (exit code {code})",
            fix="it may have been killed (out of memory?); run again",
        )
    return data


def read_in_background(
    sources: Sequence[tuple[Path, str]], stats: ReadStats | None = None, prepare: str | None = None
) -> Iterator[Message]:
    """:func:`read_sessions`, with the reading done in a child process.

    ``prepare``: ``module:class`` of a callable the child makes one of and applies to each
    message, in order, before it sends it (the digest's :class:`learn.ahead.Ahead`): work done
    there, and what the caller does not read left out. It must only import what is cheap."""
    child = _start(sources, prepare)
    stream = child.stdout
    assert stream is not None
    done = False
    try:
        while True:
            kind, size = _HEADER.unpack(_read_exactly(stream, _HEADER.size, child))
            body = _read_exactly(stream, size, child)
            if kind == _MSGPACK:
                yield from _DECODE(body)
            elif kind == _PICKLE:
                yield from pickle.loads(body)
            elif kind == _STATS:
                if stats is not None:
                    read: ReadStats = pickle.loads(body)
                    for f in fields(ReadStats):
                        setattr(stats, f.name, getattr(read, f.name))
                done = True
                return
            else:
                raise pickle.loads(body)
    finally:
        if not done:
            child.kill()  # stopped early, failed or interrupted: the rest is not wanted
        stream.close()
        child.wait()
