"""One learn run at a time per repository: an advisory lock in the repository's git folder.

The lock file is ``<git common dir>/learn-async.lock`` (never in the working tree, so it shows up
in no ``git status``); it holds the pid of the process that has it. The operating system drops
the lock when that process ends, however it ends, so a crashed run never blocks the next one.
A second run waits up to ``lock_wait`` seconds, then stops with :class:`~learn.errors.Busy`.
Holding it again in the same process (``learn`` runs the three steps) is a no-op.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from learn.errors import Busy

__all__ = ["LOCK_NAME", "repo_lock"]

LOCK_NAME = "learn-async.lock"
_held: dict[Path, int] = {}  # lock path → depth, in this process


@contextmanager
def repo_lock(git_dir: Path, wait: float, poll: float = 0.1) -> Iterator[None]:
    """Hold the repository's learn lock; wait up to ``wait`` seconds for another run."""
    path = git_dir / LOCK_NAME
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(
                        f"another learn run is in progress in this repository{_holder(fd)}",
                        fix="wait for it to finish and run again",
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f" (pid {text})" if text.isdigit() else ""
