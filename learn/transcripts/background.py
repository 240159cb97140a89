"""The transcript reader in a second process, for large inputs.

The digest is CPU-bound and has two halves of similar weight: reading (decode, normalise, join,
deduplicate: :func:`learn.transcripts.reader.read_sessions`) and what is done with each message
(events, redaction, rendering). On a machine with two or more cores, :func:`read_in_background`
runs the first half in a child process while the caller does the second, so a large session is
digested in about the time of the second half alone.

The child runs :mod:`learn.transcripts.background_child`. On Linux, in a process with one
thread, it is a fork of this one: it starts in a few milliseconds, with every module and the
triggers' database already loaded. Elsewhere (macOS, Windows, or another thread running) it is a
fresh interpreter: about 0.08 s to start, most of it importing msgspec, orjson and Hyperscan; it
reads the sources from its stdin. Either way it writes frames to a pipe: batches of messages
encoded with msgspec's MessagePack (pickle for a batch MessagePack cannot hold, such as an
integer beyond 64 bits), then its :class:`ReadStats`, or the exception that stopped it. The
pipe's buffer bounds what is in flight, so memory stays flat. The messages, their order and the
statistics are exactly those of ``read_sessions`` (tested both ways), each as the caller's
``prepare`` left it, if it gave one: the work that can be done there (the digest's is
:mod:`learn.ahead`). An exception in the child (an unreadable file) is raised again in the
caller; when the caller stops early or is interrupted, the child is ended. The child ignores
Ctrl-C: the caller decides.

Small inputs are read in-process: starting a process costs more than it saves
(:func:`worth_a_process`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import IO, Protocol

import msgspec

from learn.errors import SystemProblem
from learn.privacy import triggers
from learn.transcripts.background_child import (
    ERROR,
    HEADER,
    MSGPACK,
    PICKLE,
    SIZE,
    STATS,
    Preparer,
    serve_forked,
)
from learn.transcripts.reader import Message, ReadStats

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["BACKGROUND_FROM_BYTES", "FORKED_FROM_BYTES", "read_in_background", "worth_a_process"]

#: Inputs at least this large are read in a second process (when there is a second core)...
BACKGROUND_FROM_BYTES = 32 << 20
#: ... or this large, where that process is a fork (a few ms to start, not 0.08 s). Measured on
#: the bench inputs: in one process 8-9 ms per MB; in two, about 10 ms to start and 6 ms per MB.
FORKED_FROM_BYTES = 8 << 20
_PIPE_BYTES = 1 << 20  # the pipe's buffer where it can be widened (Linux: 64 KiB by default)
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
from learn.transcripts.background_child import main
main()
"""


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def worth_a_process(sizes: Sequence[int]) -> bool:
    """Whether input files of these sizes are better read in a second process."""
    if _cores() < 2:
        return False
    total = sum(sizes)
    return total >= BACKGROUND_FROM_BYTES or (total >= FORKED_FROM_BYTES and _forkable())


# --- the parent --------------------------------------------------------------------------


@functools.cache
def _decoders() -> tuple[Callable[[bytes], list[Message]], Callable[[bytes], ReadStats]]:
    """The frames' decoders (made on first use: the child, importing this module, needs none)."""
    return (
        msgspec.msgpack.Decoder(list[Message]).decode,
        msgspec.msgpack.Decoder(ReadStats).decode,
    )


class _Child(Protocol):
    """The reader's process, as :func:`read_in_background` uses it (a ``Popen`` is one)."""

    @property
    def stdout(self) -> IO[bytes] | None: ...
    def poll(self) -> int | None: ...
    def kill(self) -> None: ...
    def wait(self) -> int: ...


def _start(sources: Sequence[tuple[Path, str]], prepare: Preparer | None) -> _Child:
    return _fork(sources, prepare) if _forkable() else _spawn(sources, prepare)


def _forkable() -> bool:
    """Whether a fork of this process is safe and cheap: on Linux, with one thread (a fork
    copies only the thread that made it: a lock another one held would stay locked). macOS's
    system libraries do not allow a fork without an exec; Windows has none."""
    if sys.platform != "linux":
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1  # every thread, Python's or not
    except OSError:
        return False


class _Forked:
    """A forked child, with the three methods of a ``Popen`` the reading uses."""

    def __init__(self, pid: int, stdout: IO[bytes]) -> None:
        self.pid, self.stdout = pid, stdout
        self._code: int | None = None

    def poll(self) -> int | None:
        if self._code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._code = os.waitstatus_to_exitcode(status)
        return self._code

    def kill(self) -> None:
        if self._code is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        if self._code is None:
            self._code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self._code


def _fork(sources: Sequence[tuple[Path, str]], prepare: Preparer | None) -> _Forked:
    """The reader as a fork of this process: it starts in a few milliseconds with every module
    and the triggers' database already loaded."""
    triggers.compile_now()  # once, here: the child shares it
    read, write = os.pipe()
    _widen(read)
    pid = os.fork()
    if pid == 0:  # the child, which never returns into the caller's code
        code = 1
        try:
            _close_all_but(write)
            serve_forked(list(sources), write, prepare)
            code = 0
        finally:
            os._exit(code)  # no exit handlers, no flushing of the caller's buffers
    os.close(write)
    return _Forked(pid, open(read, "rb"))  # closed by read_in_background


def _close_all_but(keep: int) -> None:
    """In a forked child: close every file it inherited but the standard streams and ``keep``
    (as a fresh interpreter has none of them). Someone reading one of the caller's pipes
    would otherwise wait for this process to end too."""
    try:
        names = os.listdir("/proc/self/fd")  # Linux, where a child is forked
    except OSError:  # no /proc (a fork needs it to count threads, so not seen here)
        return
    for name in names:
        fd = int(name)
        if fd > 2 and fd != keep:
            with contextlib.suppress(OSError):  # the listing's own, closed already
                os.close(fd)


def _spawn(
    sources: Sequence[tuple[Path, str]], prepare: Preparer | None
) -> subprocess.Popen[bytes]:
    """The reader in a fresh interpreter (about 0.08 s to start, most of it imports)."""
    package = [str(_PACKAGE / "__init__.py"), str(_PACKAGE)]
    child = subprocess.Popen(
        [sys.executable, "-P", "-c", _BOOT, *package], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdin is not None and child.stdout is not None
    _widen(child.stdout.fileno())
    # The sources, then the triggers' database (compiled here while the child starts). A child
    # that is gone already is reported by the reading (its exit code).
    with contextlib.suppress(BrokenPipeError), child.stdin:
        asked = pickle.dumps((list(sources), prepare), pickle.HIGHEST_PROTOCOL)
        child.stdin.write(SIZE.pack(len(asked)) + asked)
        child.stdin.write(triggers.serialized())
    return child


def _widen(pipe: int) -> None:
    """Let the child write further ahead (Linux; 64 KiB by default): memory stays flat."""
    if fcntl is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):  # above the system's limit: the default stays
            fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _read_exactly(stream: IO[bytes], n: int, child: _Child) -> bytes:
    data = stream.read(n)
    if len(data) != n:  # the child is gone without a word
        code = child.wait()
        raise SystemProblem(
            f"the transcript reader process ended unexpectedly (exit code {code})",
            fix="it may have been killed (out of memory?); run again",
        )
    return data


def read_in_background(
    sources: Sequence[tuple[Path, str]],
    stats: ReadStats | None = None,
    prepare: Preparer | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[Message]:
    """:func:`read_sessions`, with the reading done in a child process.

    ``prepare``: what the child applies to each message, in order, before it sends it, with
    whether this process is behind (the digest's :class:`learn.ahead.Ahead`): work done there,
    and what the caller does not read left out. It is pickled for a fresh interpreter: an
    instance of a class of this package, which imports only what it needs. ``meanwhile``: the
    caller's own work, run here once the child has started, while it reads its first lines."""
    child = _start(sources, prepare)
    stream = child.stdout
    assert stream is not None
    done = False
    try:
        if meanwhile is not None:
            meanwhile()
        while True:
            kind, size = HEADER.unpack(_read_exactly(stream, HEADER.size, child))
            body = _read_exactly(stream, size, child)
            if kind == MSGPACK:
                yield from _decoders()[0](body)
            elif kind == PICKLE:
                yield from pickle.loads(body)
            elif kind == STATS:
                if stats is not None:
                    read: ReadStats = _decoders()[1](body)
                    for f in fields(ReadStats):
                        setattr(stats, f.name, getattr(read, f.name))
                done = True
                return
            else:
                assert kind == ERROR
                raise pickle.loads(body)
    finally:
        if not done:
            child.kill()  # stopped early, failed or interrupted: the rest is not wanted
        stream.close()
        child.wait()
