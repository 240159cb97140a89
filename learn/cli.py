"""The ``learn-async`` console script: the task collection, for any repository.

``learn-async learn --issue N`` in a repository that is not this one runs exactly the tasks the
workflow runs, without copying ``tasks.py``. Bad usage exits 2 (invoke's own parser says 1).
invoke's options for running shell commands (``--dry``, ``--pty``, ``--echo``, sudo, …) mean
nothing here (no task runs a shell command), so ``learn-async`` does not offer them.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from invoke.exceptions import Exit, ParseError
from invoke.program import Program

from learn import __version__
from learn.collection import ns

__all__ = ["CORE", "DESCRIPTION", "LearnProgram", "main", "program"]

DESCRIPTION = """\
learn-async turns Claude Code session transcripts into short, reviewed docs under
docs/learned/ of a repository, asynchronously: from a transcript on your machine, or from a
plan issue on GitHub (it downloads the session, learns on a branch and opens a draft PR).

  learn-async learn --session PATH.jsonl     learn from a transcript (a commit on learn-local-…)
  learn-async learn --issue N                learn from a plan issue (a draft PR or a comment)
  learn-async init --repo PATH [--on-land]   add the pinned GitHub Actions workflow to a repo
  learn-async --help TASK                    the options of one task"""

# The core options that make sense for a program whose tasks run no shell commands.
CORE = ("help", "version", "list", "complete", "print-completion-script")


class LearnProgram(Program):
    """invoke's Program with learn-async's help, its own core options, and exit 2 on bad usage."""

    def core_args(self) -> list[Any]:
        return [arg for arg in super().core_args() if arg.name in CORE]

    def parse_core_args(self) -> None:
        super().parse_core_args()
        known = self.core[0].args
        for arg in Program.core_args(self):  # invoke reads the others: they keep their defaults
            if arg.name not in known:
                known[arg.name] = arg

    def parse_core(self, argv: list[str] | None) -> None:
        try:
            super().parse_core(argv)
        except ParseError as exc:
            raise Exit(f"learn-async: {exc}", code=2) from None

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise Exit(f"learn-async: {exc}", code=2) from None

    def print_help(self) -> None:
        print(DESCRIPTION)
        print()
        print(f"Usage: {self.binary} [--help [TASK] | --version | --list] TASK [--options]")
        print()
        print("Options:")
        print()
        self.print_columns(self.initial_context.help_tuples())
        self.list_tasks()


program = LearnProgram(namespace=ns, name="learn-async", binary="learn-async", version=__version__)


def main() -> None:
    try:
        program.run()
        sys.stdout.flush()
    except BrokenPipeError:  # `learn-async … | head` closed the pipe: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        sys.exit(1)


if __name__ == "__main__":
    main()
