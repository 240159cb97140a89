"""The Claude Code CLI gateway: finding the ``claude`` binary and running it as a process.

The engine (:mod:`learn.engines.claude`) decides *what* to ask; this module only knows how to
start the CLI, feed its stdout lines to a callback as they arrive, and stop it on a timeout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import sh

__all__ = ["CREDENTIAL_VARS", "ClaudeCli", "ClaudeCliLike", "CliTimeout", "Finished"]

CREDENTIAL_VARS = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN")


@dataclass(frozen=True)
class Finished:
    exit_code: int
    stderr_tail: str  # the last lines of stderr, for error messages


class CliTimeout(Exception):
    """The CLI ran longer than allowed and was killed."""


class ClaudeCliLike(Protocol):
    """What the Claude engine needs of the CLI: :class:`ClaudeCli`, or a fake in unit tests."""

    def binary(self) -> str | None: ...
    def has_credentials(self) -> bool: ...
    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        on_line: Callable[[str], None],
    ) -> Finished: ...


class ClaudeCli:
    """The real ``claude`` (``LEARN_CLAUDE_BIN`` overrides where it is found)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def binary(self) -> str | None:
        explicit = self.env.get("LEARN_CLAUDE_BIN")
        if explicit:
            return explicit if Path(explicit).is_file() else None
        return shutil.which("claude", path=self.env.get("PATH"))

    def has_credentials(self) -> bool:
        return any(self.env.get(name) for name in CREDENTIAL_VARS)

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        on_line: Callable[[str], None],
    ) -> Finished:
        """Run ``claude *args`` with no stdin; each stdout line goes to ``on_line`` as it comes."""
        binary = self.binary()
        if binary is None:
            raise FileNotFoundError("claude")
        stderr: deque[str] = deque(maxlen=20)
        proc = sh.Command(binary)(
            *args,
            _cwd=str(cwd),
            _env=dict(env),
            _out=on_line,
            _err=stderr.append,
            _bg=True,
            # every exit is reported, not raised; killed by us (timeout, Ctrl-C) included
            _ok_code=[*range(256), -signal.SIGKILL, -signal.SIGTERM, -signal.SIGINT],
            _in=os.devnull,
        )
        try:
            proc.wait(timeout=timeout)
        except sh.TimeoutException:
            proc.kill()
            raise CliTimeout from None
        except BaseException:  # interrupted (Ctrl-C) or failed: the CLI does not outlive us
            with contextlib.suppress(Exception):
                proc.kill()
            raise
        return Finished(proc.exit_code, "".join(stderr).strip())
