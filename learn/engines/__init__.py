"""Learn engines: they read a digest and write docs under ``docs/learned/``, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from learn.config import Settings

DOCS_DIR = "docs/learned"


@dataclass(frozen=True, slots=True)
class EngineJob:
    """What an engine is asked to do."""

    digest_dir: Path  # digest-NNN.md chunks, events.jsonl, manifest.json
    worktree: Path  # the repository checkout the engine works in
    run_dir: Path  # where the engine may keep its log
    sessions: list[str]
    issue: int | None
    title: str  # the plan's title, or the session's first prompt
    today: str  # YYYY-MM-DD, for last_updated

    @property
    def docs_root(self) -> Path:
        return self.worktree / DOCS_DIR


@dataclass(slots=True)
class EngineResult:
    engine: str
    written: list[str] = field(default_factory=list)  # doc paths relative to the worktree
    summary: str = ""  # one line for the terminal and the job summary


class Engine(Protocol):
    name: str

    def run(self, job: EngineJob) -> EngineResult: ...


def select(settings: Settings) -> tuple[Engine, str]:
    """The engine to use and why it was picked (printed, so nobody wonders)."""
    from learn.engines.offline import OfflineEngine

    if settings.engine == "offline":
        return OfflineEngine(), "offline engine (--engine offline)"
    if settings.engine == "claude":
        from learn.errors import UsageError

        raise UsageError(
            "the claude engine is not available in this version",
            fix="use --engine offline (or auto)",
        )
    return OfflineEngine(), "offline engine (auto: the Claude Code engine is not configured here)"
