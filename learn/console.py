"""What the tasks print: rich on a terminal, plain lines (and workflow commands) in CI.

Every message passes ``learn.privacy.outbound.clean``: logs leave the machine too (CI logs).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console

from learn.privacy.outbound import clean

__all__ = ["Output", "in_actions"]


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS", "").lower() == "true"


class Output:
    """The one place the steps report progress; tests capture it as plain text."""

    def __init__(self, stream: TextIO | None = None, *, actions: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.actions = in_actions() if actions is None else actions
        self.console = Console(file=self.stream, highlight=False, soft_wrap=True)
        # Problems go to stderr on a terminal; a given stream (tests) gets everything.
        self.err_console = (
            self.console if stream else Console(file=sys.stderr, highlight=False, soft_wrap=True)
        )

    def info(self, message: str) -> None:
        self.console.print(clean(message), markup=False)

    def ok(self, message: str) -> None:
        self._styled("✓ ", "green", message)

    def warn(self, message: str, title: str = "learn-async") -> None:
        message = clean(message)
        if self.actions:
            print(
                f"::warning title={_prop(title)}::{_escape(message)}", file=self.stream, flush=True
            )
        else:
            self._styled("! ", "yellow", message, self.err_console)

    def error(self, message: str, title: str = "learn-async") -> None:
        """A problem; in Actions an ``::error`` annotation with a title (shown in the run's list)."""
        message = clean(message)
        if self.actions:
            print(f"::error title={_prop(title)}::{_escape(message)}", file=self.stream, flush=True)
        else:
            self._styled("✗ ", "red", message, self.err_console)

    def _styled(self, mark: str, style: str, message: str, console: Console | None = None) -> None:
        console = console or self.console
        console.print(f"[{style}]{mark}[/{style}]", end="")
        console.print(clean(message), markup=False)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        if self.actions:
            print(f"::group::{title}", file=self.stream, flush=True)
            try:
                yield
            finally:
                print("::endgroup::", file=self.stream, flush=True)
        else:
            self.console.print(f"[bold]{title}[/bold]", markup=True)
            yield


def _escape(message: str) -> str:
    """Workflow-command data escaping (%, CR, LF)."""
    return message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(value: str) -> str:
    """Workflow-command property escaping (also ``:`` and ``,``)."""
    return _escape(value).replace(":", "%3A").replace(",", "%2C")
