"""A full disk for one process: put this folder on ``PYTHONPATH`` and set ``FAULT_ENOSPC`` to a
glob of the paths that cannot be written (``FAULT_ENOSPC_AFTER``: bytes that fit first).

Python imports ``sitecustomize`` at start-up, so the task under test runs unchanged: every file
opened for writing whose path matches fails with ``ENOSPC`` once the bytes run out, as on a
full disk (the file itself is created, with what fitted).
"""

from __future__ import annotations

import builtins
import errno
import fnmatch
import io
import os
from typing import Any

PATTERN = os.environ.get("FAULT_ENOSPC", "")
ROOM = int(os.environ.get("FAULT_ENOSPC_AFTER", "0"))
_open = io.open


class _FullDisk:
    def __init__(self, fh: Any, name: str) -> None:
        self._fh, self._name, self._room = fh, name, ROOM

    def write(self, data: Any) -> int:
        if len(data) > self._room:
            self._fh.write(data[: self._room])
            self._room = 0
            self._fh.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._name)
        self._room -= len(data)
        return int(self._fh.write(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def _open_on_full_disk(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
    fh = _open(file, mode, *args, **kwargs)
    if isinstance(file, int) or not any(c in mode for c in "wax+"):
        return fh
    name = os.fspath(file)
    return _FullDisk(fh, str(name)) if fnmatch.fnmatch(str(name), PATTERN) else fh


if PATTERN:
    io.open = builtins.open = _open_on_full_disk
