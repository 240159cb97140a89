"""The ``learn-async`` console script: the same task collection as ``invoke``, for any repository.

``learn-async learn --issue N`` in a repository that is not this one runs exactly the tasks the
workflow runs, without copying ``tasks.py``. Bad usage exits 2 (invoke's own parser says 1).
"""

from __future__ import annotations

from invoke.exceptions import Exit, ParseError
from invoke.program import Program

from learn import __version__
from learn.collection import ns


class LearnProgram(Program):
    """invoke's Program, with bad usage exiting 2 as the rest of learn-async does."""

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


program = LearnProgram(namespace=ns, name="learn-async", binary="learn-async", version=__version__)


def main() -> None:
    program.run()


if __name__ == "__main__":
    main()
