"""Hyperscan pattern sets: compiled on first use, a scratch space per thread, scanned cheaply.

Two stages look for many patterns in one pass over a text: the privacy triggers
(:mod:`learn.privacy.triggers`) and the error words of tool output (:mod:`learn.error_lines`).
Hyperscan compiles a set of patterns into one automaton; compiling takes about 0.1 s (so it
happens on first use, not at import), and each thread scanning needs a scratch space of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import hyperscan

__all__ = ["OnMatch", "PatternSet"]

#: Called for each match: (pattern id, start, end, flags, context); True stops the scan
#: (``hyperscan.ScanTerminated`` is raised).
OnMatch = Callable[[int, int, int, int, Any], "bool | None"]


class PatternSet:
    """One Hyperscan database, built by ``build`` when first needed."""

    def __init__(self, build: Callable[[], hyperscan.Database]) -> None:
        self._build = build
        self._database: hyperscan.Database | None = None
        self._local = threading.local()

    def database(self) -> hyperscan.Database:
        if self._database is None:
            self._database = self._build()
        return self._database

    def scan(self, data: bytes, on_match: OnMatch, context: object) -> None:
        """Report every match in ``data`` to ``on_match`` (with ``context``)."""
        scratch: hyperscan.Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self.database())
        # Positional arguments (data, handler, flags, context, scratch): the extension parses
        # keywords at several times the cost of scanning a short text.
        self.database().scan(data, on_match, 0, context, scratch)

    def serialized(self) -> bytes:
        """The compiled database as bytes, for another process of the same installation
        (:meth:`use_serialized`): loading it takes a millisecond, compiling a hundred."""
        return bytes(hyperscan.dumpb(self.database()))

    def use_serialized(self, data: bytes) -> None:
        """Use a database :meth:`serialized` by another process of this installation."""
        self._database = hyperscan.loadb(data, hyperscan.HS_MODE_BLOCK)
        self._local = threading.local()  # a scratch space belongs to its database
