"""Safe extraction of session artifacts (zip archives from an untrusted workflow run).

Entries are never written outside the destination, sizes are counted as bytes are actually
decompressed (declared sizes can lie), and only transcript files are kept.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from learn.errors import TranscriptError

__all__ = ["KEPT_SUFFIXES", "MAX_ENTRY_BYTES", "MAX_TOTAL_BYTES", "Limits", "extract_sessions"]

MAX_ENTRY_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
KEPT_SUFFIXES = (".jsonl", ".meta.json")


@dataclass(frozen=True, slots=True)
class Limits:
    entry: int = MAX_ENTRY_BYTES
    total: int = MAX_TOTAL_BYTES


def _safe_name(name: str) -> PurePosixPath | None:
    """The entry's relative path, or None when it would escape the destination."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or not path.parts or ".." in path.parts or ":" in path.parts[0]:
        return None
    return path


def extract_sessions(
    archive: Path, dest: Path, label: str, limits: Limits = Limits()
) -> list[Path]:
    """Extract the transcript files of ``archive`` under ``dest``; return the .jsonl files.

    Raises ``TranscriptError`` for an unreadable archive, an entry that escapes the destination,
    an archive over the size caps, or one without any .jsonl file.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise TranscriptError(f"artifact {label} is not a readable zip archive ({exc})") from None
    limits = limits or Limits()
    written: list[Path] = []
    total = 0
    dest.mkdir(parents=True, exist_ok=True)
    with bundle:
        for info in bundle.infolist():
            rel = _safe_name(info.filename)
            if rel is None:
                raise TranscriptError(
                    f"artifact {label} has an unsafe entry {info.filename!r} (path traversal)",
                    fix="nothing was extracted from it; check how the artifact was made",
                )
            if info.is_dir() or not info.filename.endswith(KEPT_SUFFIXES):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            with bundle.open(info) as src, target.open("wb") as out:
                while chunk := src.read(1 << 20):
                    size += len(chunk)
                    total += len(chunk)
                    if size > limits.entry or total > limits.total:
                        out.close()
                        shutil.rmtree(dest, ignore_errors=True)
                        cap = limits.entry if size > limits.entry else limits.total
                        raise TranscriptError(
                            f"artifact {label} is over the size cap ({cap // (1024 * 1024)} MB)",
                            fix="nothing was extracted; raise the cap only for a trusted artifact",
                        )
                    out.write(chunk)
            if target.suffix == ".jsonl":
                written.append(target)
    if not written:
        raise TranscriptError(
            f"artifact {label} contains no .jsonl transcript",
            fix="upload the session's .jsonl file as the artifact",
        )
    return sorted(written)
