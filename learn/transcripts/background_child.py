"""The child's side of :mod:`learn.transcripts.background`: what the reader's process runs.

Kept apart from the caller's side so that the child imports only what it needs to read (no
``subprocess``, no ``pickle`` unless it must report an error): it starts sooner, and the caller
waits for its first messages. The frames it writes are defined here, for both sides.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import signal
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import msgspec
import orjson

from learn.privacy import triggers
from learn.transcripts.reader import Message, ReadStats, read_sessions

__all__ = ["ERROR", "HEADER", "MSGPACK", "PICKLE", "STATS", "main", "serve_forked"]

_BATCH = 64  # messages per frame: small enough that both processes stay busy
# A frame: its kind, the length of what follows, then that: a batch of messages (MessagePack, or
# pickle for what it cannot hold, such as an integer beyond 64 bits), the statistics
# (MessagePack) or the exception that stopped the reading (pickle).
MSGPACK, PICKLE, STATS, ERROR = b"M", b"P", b"S", b"E"
HEADER = struct.Struct(">cI")


def _serve(sources: list[tuple[Path, str]], out: IO[bytes], prepare: str | None) -> None:
    """Read, and write the messages (each given to a new ``prepare`` first: ``module:class``),
    then the statistics or the error, as frames."""
    encode = msgspec.msgpack.Encoder().encode

    def frame(kind: bytes, payload: bytes) -> None:
        out.write(HEADER.pack(kind, len(payload)))
        out.write(payload)

    def send(batch: list[Message]) -> None:
        try:
            frame(MSGPACK, encode(batch))
        except (OverflowError, msgspec.EncodeError):  # e.g. an integer beyond 64 bits
            import pickle

            frame(PICKLE, pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))

    stats = ReadStats()
    try:
        preparer = _prepare(prepare) if prepare else None
        batch: list[Message] = []
        for msg in read_sessions(sources, stats):
            if preparer is not None:
                preparer(msg)
            _note_triggers(msg)
            batch.append(msg)
            if len(batch) == _BATCH:
                send(batch)
                batch = []
        if batch:
            send(batch)
        frame(STATS, encode(stats))
    except Exception as exc:  # handed to the parent, which raises it
        import pickle

        try:
            payload = pickle.dumps(exc)
        except Exception:  # an exception that cannot be pickled
            payload = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
        frame(ERROR, payload)
    out.flush()


def _input_text(tool_input: dict[str, Any]) -> str:
    """The strings of a tool input, one per line (most inputs are flat: no recursion for them)."""
    parts: list[str] = []
    for value in tool_input.values():
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, (dict, list)):
            parts += _strings(value)
    return "\n".join(parts)


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
        text = _input_text(block.input) if block.kind == "tool_use" else block.text
        block.fired = triggers.fired(text.encode("utf-8", "surrogatepass")) if text else 0


def main() -> None:
    """A fresh interpreter's child: read what the parent asks on stdin, and answer on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    header, database = sys.stdin.buffer.read().split(b"\n", 1)
    triggers.use_serialized(database)  # the parent's: no compiling here
    asked = orjson.loads(header)
    sources = [(Path(path), agent) for path, agent in asked["sources"]]
    with contextlib.suppress(BrokenPipeError):  # the parent stopped listening
        _serve(sources, sys.stdout.buffer, asked["prepare"])


def serve_forked(sources: list[tuple[Path, str]], fd: int, prepare: str | None) -> None:
    """A forked child's work: answer on the pipe ``fd``. All the parent had is here already
    (modules, the triggers' database); what it holds is left as it is (no collection of it)."""
    gc.freeze()  # the parent's objects: not walked by the collector, so their pages stay shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    with contextlib.suppress(BrokenPipeError), open(fd, "wb") as out:
        _serve(sources, out, prepare)


def _prepare(name: str) -> Callable[[Message], None]:
    """A new instance of the preparer named ``module:class``."""
    module, _, attribute = name.partition(":")
    factory: Callable[[], Callable[[Message], None]] = getattr(
        importlib.import_module(module), attribute
    )
    return factory()
