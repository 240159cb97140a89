"""The transcript reader in a second process, for large inputs.

The digest is CPU-bound and has two halves of similar weight: reading (decode, normalise, join,
deduplicate: :func:`learn.transcripts.reader.read_sessions`) and what is done with each message
(events, redaction, rendering). On a machine with two or more cores, :func:`read_in_background`
runs the first half in a child process while the caller does the second, so a large session is
digested in about the time of the second half alone.

The child streams the messages back in batches over a pipe, encoded with msgspec's MessagePack
(pickle for a batch MessagePack cannot hold, such as an integer beyond 64 bits), then its
:class:`ReadStats`. The pipe's buffer bounds what is in flight, so memory stays flat. The
messages, their order and the statistics are exactly those of ``read_sessions`` (tested). An
exception in the child (an unreadable file) is raised again in the caller; when the caller stops
early or is interrupted, the child is ended. The child ignores Ctrl-C: the caller decides.

Small inputs are read in-process: starting a process costs more than it saves
(:func:`worth_a_process`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import fields
from multiprocessing.connection import Connection
from pathlib import Path

import msgspec

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from learn.transcripts.reader import Message, ReadStats, read_sessions

__all__ = ["BACKGROUND_FROM_BYTES", "read_in_background", "worth_a_process"]

#: Inputs at least this large are read in a second process (when there is a second core).
BACKGROUND_FROM_BYTES = 32 << 20
_BATCH = 64  # messages per send: small enough that both processes stay busy
_PIPE_BYTES = 1 << 20  # the pipe's buffer where it can be widened (Linux: 64 KiB by default)

_MSGPACK, _PICKLE, _STATS, _ERROR = b"M", b"P", b"S", b"E"
_DECODE = msgspec.msgpack.Decoder(list[Message]).decode


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def worth_a_process(sizes: Sequence[int]) -> bool:
    """Whether input files of these sizes are better read in a second process."""
    return sum(sizes) >= BACKGROUND_FROM_BYTES and _cores() >= 2


def _serve(sources: list[tuple[Path, str]], out: Connection) -> None:
    """The child: read, and send the messages, the statistics or the error."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    encode = msgspec.msgpack.Encoder().encode
    stats = ReadStats()

    def send(batch: list[Message]) -> None:
        try:
            out.send_bytes(_MSGPACK + encode(batch))
        except (OverflowError, msgspec.EncodeError):  # e.g. an integer beyond 64 bits
            out.send_bytes(_PICKLE + pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))

    try:
        batch: list[Message] = []
        for msg in read_sessions(sources, stats):
            batch.append(msg)
            if len(batch) == _BATCH:
                send(batch)
                batch = []
        if batch:
            send(batch)
        out.send_bytes(_STATS + pickle.dumps(stats))
    except BrokenPipeError:
        pass  # the parent stopped listening
    except Exception as exc:  # handed to the parent, which raises it
        try:
            payload = pickle.dumps(exc)
        except Exception:  # an exception that cannot be pickled
            payload = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
        out.send_bytes(_ERROR + payload)
    finally:
        out.close()


def _widen(conn: Connection) -> None:
    """A wider pipe (Linux): the child writes ahead instead of waiting at every 64 KiB."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setpipe is not None:
        with contextlib.suppress(OSError):  # above the system's limit: the default stays
            fcntl.fcntl(conn.fileno(), setpipe, _PIPE_BYTES)


def _context() -> multiprocessing.context.DefaultContext:
    """Fork where it is safe and cheap (Linux, one thread); else a fresh interpreter."""
    fork = sys.platform == "linux" and threading.active_count() == 1
    return multiprocessing.get_context("fork" if fork else "spawn")  # type: ignore[return-value]


def read_in_background(
    sources: Sequence[tuple[Path, str]], stats: ReadStats | None = None
) -> Iterator[Message]:
    """:func:`read_sessions`, with the reading done in a child process."""
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    _widen(send)
    child = ctx.Process(target=_serve, args=(list(sources), send), name="learn-reader", daemon=True)
    child.start()
    send.close()  # the child's end: EOF here once the child is gone
    done = False
    try:
        while True:
            try:
                data = receive.recv_bytes()
            except EOFError:
                raise RuntimeError(
                    f"the transcript reader process ended unexpectedly (exit code {child.exitcode})"
                ) from None
            tag, body = data[:1], memoryview(data)[1:]
            if tag == _MSGPACK:
                yield from _DECODE(body)
            elif tag == _PICKLE:
                yield from pickle.loads(body)
            elif tag == _STATS:
                if stats is not None:
                    read: ReadStats = pickle.loads(body)
                    for f in fields(ReadStats):
                        setattr(stats, f.name, getattr(read, f.name))
                done = True
                return
            else:
                raise pickle.loads(body)
    finally:
        receive.close()
        if not done:
            child.kill()  # stopped early, failed or interrupted: the rest is not wanted
        child.join()
