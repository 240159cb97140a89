"""The child's side of :mod:`learn.transcripts.background`: what the reader's process runs.

Kept apart from the caller's side so that the child imports only what it needs to read (no
``subprocess``): a fresh interpreter starts sooner, and the caller waits for its first messages.
The frames it writes are defined here, for both sides.

The caller's ``prepare`` is given each message before it is sent, with ``spare``: whether the
caller is behind, that is whether more than :data:`_BEHIND` bytes wait in the pipe
(``FIONREAD``: Linux answers it; where the system does not, it is never said). Then the
preparer may do some of the caller's work (the digest's: :mod:`learn.ahead`), and the two
processes share it as their speeds allow, instead of this one waiting for the pipe to drain.
Messages go in batches; before one is sent, the privacy triggers of all its texts are noted
in one pass, then the preparer finishes its work on them (``finish``).
"""

from __future__ import annotations

import contextlib
import gc
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol

import msgspec

from learn.privacy import triggers
from learn.transcripts.reader import Block, Message, ReadStats, read_sessions

try:
    import fcntl
    import termios
except ImportError:  # Windows
    fcntl = termios = None  # type: ignore[assignment]

__all__ = [
    "ERROR",
    "HEADER",
    "MSGPACK",
    "PICKLE",
    "SIZE",
    "STATS",
    "Preparer",
    "main",
    "serve_forked",
]


class Preparer(Protocol):
    """What the caller has done here to the messages before they are sent (the digest's:
    :class:`learn.ahead.Ahead`)."""

    def __call__(self, msg: Message, spare: bool) -> None:
        """Given each message, and whether the caller is behind (time to spare here)."""

    def finish(self) -> None:
        """Called before a batch is sent, once its blocks' privacy triggers are noted."""


_BATCH = 64  # messages per frame: small enough that both processes stay busy
_FIRST_BATCH = 8  # the first frame's: the caller, waiting, starts sooner (about 5 ms)
_BEHIND = 256 << 10  # bytes waiting in the pipe (of 1 MiB): the caller is behind
# A frame: its kind, the length of what follows, then that: a batch of messages (MessagePack, or
# pickle for what it cannot hold, such as an integer beyond 64 bits), the statistics
# (MessagePack) or the exception that stopped the reading (pickle).
MSGPACK, PICKLE, STATS, ERROR = b"M", b"P", b"S", b"E"
HEADER = struct.Struct(">cI")
SIZE = struct.Struct(">I")  # a fresh interpreter's stdin: the size of what is asked, pickled


def _serve(sources: list[tuple[Path, str]], out: IO[bytes], prepare: Preparer | None) -> None:
    """Read, and write the messages (each given to ``prepare`` first), then the statistics or
    the error, as frames."""
    encode = msgspec.msgpack.Encoder().encode

    def send(batch: list[Message]) -> None:
        """Note the batch's triggers, let the preparer finish it, and write it."""
        _note_triggers(batch)
        if prepare is not None:
            prepare.finish()
        try:
            _frame(out, MSGPACK, encode(batch))
        except (OverflowError, msgspec.EncodeError):  # e.g. an integer beyond 64 bits
            _frame(out, PICKLE, pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))

    stats = ReadStats()
    try:
        waiting = _waiting(out)
        spare = False
        batch: list[Message] = []
        size = _FIRST_BATCH
        for msg in read_sessions(sources, stats):
            if prepare is not None:
                prepare(msg, spare)
            batch.append(msg)
            if len(batch) == size:
                send(batch)
                batch, size = [], _BATCH
                spare = waiting is not None and waiting() > _BEHIND
        if batch:
            send(batch)
        _frame(out, STATS, encode(stats))
    except Exception as exc:  # handed to the parent, which raises it
        _report(out, exc)


def _frame(out: IO[bytes], kind: bytes, payload: bytes) -> None:
    """Write a frame, and flush it: the caller may be waiting for it (a small frame, such as
    the first, would otherwise wait in the buffer for the next ones: 5 ms, measured)."""
    out.write(HEADER.pack(kind, len(payload)))
    out.write(payload)
    out.flush()


def _report(out: IO[bytes], exc: Exception) -> None:
    """Hand ``exc`` to the parent, which raises it."""
    try:
        payload = pickle.dumps(exc)
    except Exception:  # an exception that cannot be pickled
        payload = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
    _frame(out, ERROR, payload)


def _waiting(out: IO[bytes]) -> Callable[[], int] | None:
    """How many bytes written to the pipe ``out`` the caller has not read yet, where the
    system tells; else None."""
    if fcntl is None:
        return None
    try:
        fd = out.fileno()
        fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    except (OSError, ValueError):  # not a pipe, or no answer (io.UnsupportedOperation: both)
        return None
    unpack = struct.Struct("i").unpack

    def waiting() -> int:
        return int(unpack(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])

    return waiting


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


def _note_triggers(batch: list[Message]) -> None:
    """Work out each block's privacy triggers here, where there is time to spare, so the
    digest needs no Hyperscan pass of its own for a text (or a part of it) that fires none.
    A tool call's strings are joined: what fires in one of them fires in the whole. One pass
    for the whole batch (:func:`learn.privacy.triggers.fired_each`)."""
    blocks: list[Block] = []
    texts: list[bytes] = []
    for msg in batch:
        for block in msg.blocks:
            if block.excerpt is not None:
                continue  # made here already: the caller does not scrub it
            text = _input_text(block.input) if block.kind == "tool_use" else block.text
            if text:
                blocks.append(block)
                texts.append(text.encode("utf-8", "surrogatepass"))
            else:
                block.fired = 0
    for block, bits in zip(blocks, triggers.fired_each(texts), strict=True):
        block.fired = bits


def main() -> None:
    """A fresh interpreter's child: read what the parent asks on stdin (its size, the sources
    and the preparer, pickled, then the triggers' database), and answer on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    asked = sys.stdin.buffer.read()
    end = SIZE.size + SIZE.unpack_from(asked)[0]
    out = sys.stdout.buffer
    with contextlib.suppress(BrokenPipeError):  # the parent stopped listening
        try:
            sources, prepare = pickle.loads(asked[SIZE.size : end])
            triggers.use_serialized(asked[end:])  # the parent's: no compiling here
        except Exception as exc:  # a preparer this process cannot make, say
            _report(out, exc)
            return
        _serve(sources, out, prepare)


def serve_forked(sources: list[tuple[Path, str]], fd: int, prepare: Preparer | None) -> None:
    """A forked child's work: answer on the pipe ``fd``. All the parent had is here already
    (modules, the triggers' database); what it holds is left as it is (no collection of it)."""
    gc.freeze()  # the parent's objects: not walked by the collector, so their pages stay shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    with contextlib.suppress(BrokenPipeError), open(fd, "wb") as out:
        _serve(sources, out, prepare)
