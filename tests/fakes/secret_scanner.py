"""A secret scanner that finds what it is told to (for the outbound check's failure path)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from learn.privacy.scanner import ScanFinding


class FakeScanner:
    """Reports ``rule`` on every line holding ``trigger``, with a value that is not in the text
    (so masking cannot remove it): a finding that survives redaction."""

    def __init__(self, trigger: str, rule: str = "fake-rule") -> None:
        self.trigger, self.rule = trigger, rule

    def scan(self, text: str) -> list[ScanFinding]:
        return [
            ScanFinding(self.rule, n, "\x00unmaskable\x00")
            for n, line in enumerate(text.splitlines(), 1)
            if self.trigger in line
        ]

    def scan_files(self, paths: Sequence[Path]) -> dict[Path, list[ScanFinding]]:
        found = {p: self.scan(p.read_text(encoding="utf-8")) for p in paths}
        return {p: f for p, f in found.items() if f}
