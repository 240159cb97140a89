"""Learn engines: they read a digest and write docs under ``docs/learned/``, nothing else."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from learn.console import Output
from learn.settings import Settings

__all__ = ["DOCS_DIR", "Engine", "EngineJob", "EngineResult", "EngineUsage", "select"]

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
    usage: EngineUsage | None = None  # what a model run cost (None: no model was called)


@dataclass(frozen=True, slots=True)
class EngineUsage:
    """Turns, tokens and cost of one model run: step outputs and the job summary show them."""

    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def outputs(self) -> dict[str, str]:
        return {
            "turns": str(self.turns),
            "input-tokens": str(self.input_tokens),
            "output-tokens": str(self.output_tokens),
            "cost-usd": f"{self.cost_usd:.4f}",
        }


class Engine(Protocol):
    name: str

    def run(self, job: EngineJob) -> EngineResult: ...


def select(
    settings: Settings, out: Output, env: Mapping[str, str] | None = None
) -> tuple[Engine, str]:
    """The engine to use and why it was picked (printed, so nobody wonders)."""
    from learn.engines.claude import ClaudeEngine
    from learn.engines.offline import OfflineEngine
    from learn.gateways.claude_cli import ClaudeCli

    env = dict(os.environ if env is None else env)
    cli = ClaudeCli(env)
    if settings.engine == "offline":
        return OfflineEngine(), "offline engine (--engine offline)"
    if settings.engine == "claude":
        return ClaudeEngine(
            settings, out, env
        ), f"claude engine, model {settings.model} (--engine claude)"
    if cli.binary() is None:
        return OfflineEngine(), "offline engine (auto: no `claude` CLI on PATH)"
    if not cli.has_credentials():
        return (
            OfflineEngine(),
            "offline engine (auto: no ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN)",
        )
    return ClaudeEngine(
        settings, out, env
    ), f"claude engine, model {settings.model} (auto: CLI and credentials found)"
