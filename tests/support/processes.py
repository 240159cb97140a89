"""Run one invoke task as its own process, the way CI runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support.repos import GIT_ENV, ROOT


@dataclass
class Done:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def make_invoke(cwd: Path, timeout: float = 120) -> Callable[..., Done]:
    """A runner of one invoke task as its own process, the way CI runs it (no claude CLI
    unless a test gives LEARN_CLAUDE_BIN)."""

    def run(*args: str, cwd: Path | None = cwd, env: dict[str, str] | None = None) -> Done:
        proc = subprocess.run(
            [sys.executable, "-m", "invoke", "--search-root", str(ROOT), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={
                **os.environ,
                **GIT_ENV,
                "NO_COLOR": "1",
                "GITHUB_ACTIONS": "",
                "LEARN_CLAUDE_BIN": "/nonexistent/claude",
                **(env or {}),
            },
        )
        return Done(proc.returncode, proc.stdout, proc.stderr)

    return run
