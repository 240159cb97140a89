"""The project's exception tree.

Every expected failure is a ``LearnError``: its message is one line written for the person
reading the CI log or the terminal, naming the cause and, where there is one, the fix. The tasks
turn it into an exit code (``exit_code``) instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "Busy",
    "DocError",
    "EngineError",
    "GitError",
    "GitHubError",
    "Interrupted",
    "LearnError",
    "NotReady",
    "PathViolation",
    "SystemProblem",
    "TranscriptError",
    "UsageError",
    "from_os_error",
]


class LearnError(Exception):
    """An expected failure: exit 1 with a one-line reason."""

    exit_code = 1
    title = "learn-async failed"  # the title of its ::error annotation in GitHub Actions
    records_failure = True  # with --issue, the plan gets learn_status: failed

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} — {self.fix}" if self.fix else self.message


class UsageError(LearnError):
    """Bad usage or bad input from the person or workflow calling us: exit 2."""

    exit_code = 2
    title = "learn-async: bad usage or input"


class NotReady(UsageError):
    """A step was run before the step it depends on (e.g. publish before run-learn): exit 2,
    and the plan's status is left as it is."""

    records_failure = False


class Busy(LearnError):
    """Another learn run holds this repository's lock: exit 3, nothing was changed."""

    exit_code = 3
    records_failure = False


class Interrupted(LearnError):
    """Interrupted (Ctrl-C / SIGINT) after cleaning up: exit 130, like a shell."""

    exit_code = 130


class SystemProblem(LearnError):
    """The operating system refused (disk full, permission denied, ...): exit 1."""


class TranscriptError(LearnError):
    """No usable transcript: missing, empty, not JSONL."""

    title = "learn-async: no usable session transcript"


class GitError(LearnError):
    """A git command failed (push rejected, no repository, dirty tree...)."""

    title = "learn-async: git failed"


class EngineError(LearnError):
    """The learn engine failed, timed out, or was refused."""

    title = "learn-async: the learn engine failed"


class DocError(LearnError):
    """A learned doc is malformed (front matter) or was written where it may not be."""

    title = "learn-async: invalid learned doc"


class PathViolation(DocError):
    """Something changed outside docs/learned/; nothing is committed."""

    def __init__(self, paths: list[str]) -> None:
        shown = ", ".join(paths[:10]) + (f" (+{len(paths) - 10} more)" if len(paths) > 10 else "")
        super().__init__(
            f"files changed outside docs/learned/: {shown}",
            fix="only docs/learned/** may be written; nothing was committed",
        )
        self.paths = paths


class GitHubError(LearnError):
    """GitHub refused or failed a request.

    ``status`` is GitHub's HTTP status, or None when GitHub could not be reached at all.
    """

    TRANSIENT = frozenset({429, 500, 502, 503, 504})
    title = "learn-async: GitHub request failed"

    def __init__(self, message: str, *, fix: str | None = None, status: int | None = 0) -> None:
        super().__init__(message, fix=fix)
        self.status = status

    @property
    def transient(self) -> bool:
        """Worth retrying: GitHub was unreachable or answered a 5xx/429."""
        return self.status is None or self.status in self.TRANSIENT


def from_os_error(exc: OSError) -> SystemProblem:
    """One line for an operating-system failure: what and where, without a traceback."""
    import errno

    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return SystemProblem(
            f"the disk is full{where}",
            fix="free some space and run again; partial files were removed",
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return SystemProblem(f"permission denied{where}: {exc.strerror}")
    return SystemProblem(f"{exc.strerror or type(exc).__name__}{where}")
