"""What every step works with: the :class:`Target` of a run and its :class:`Deps` (gateways).

Also the two helpers every step shares: the clock and the plan-status write.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from learn import plan_header
from learn.console import Output
from learn.errors import UsageError
from learn.gateways.git import Git, GitLike
from learn.gateways.github import GitHubLike
from learn.privacy.outbound import clean
from learn.settings import Settings
from learn.steps import state

__all__ = [
    "Deps",
    "Selection",
    "Target",
    "github_factory",
    "now",
    "set_failed",
    "set_in_review",
    "set_status",
]


@dataclass
class Deps:
    """What a step works with; GitHub is only built when a step needs it."""

    settings: Settings
    out: Output
    git: GitLike
    make_github: Callable[[], GitHubLike] | None = None
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    _github: GitHubLike | None = None

    @property
    def github(self) -> GitHubLike:
        if self._github is None:
            if self.make_github is None:
                raise UsageError("this step needs GitHub but no gateway is configured")
            self._github = self.make_github()
        return self._github


def github_factory(
    git: Git, settings: Settings, env: dict[str, str] | None = None
) -> Callable[[], GitHubLike]:
    """Build the real GitHub gateway lazily (only steps that talk to GitHub pay for it)."""
    from learn.gateways.github import GitHub, GitHubSettings

    return lambda: GitHub(GitHubSettings.from_env(git.remote_url(), settings, env))


@dataclass(frozen=True)
class Selection:
    """Several plans learned in one run and one PR: listed, or open issues with a label."""

    issues: tuple[int, ...] = ()
    label: str = ""
    not_learned: bool = False  # with a label: only plans not learned yet
    limit: int = 10

    def spec(self) -> str:
        if self.label:
            return f"label={self.label};not_learned={self.not_learned};limit={self.limit}"
        return "issues=" + ",".join(str(n) for n in self.issues)

    def describe(self) -> str:
        if self.label:
            which = "not learned yet, " if self.not_learned else ""
            return f"open plans labelled {self.label} ({which}at most {self.limit})"
        return "plans " + ", ".join(f"#{n}" for n in self.issues)


@dataclass(frozen=True)
class Target:
    """Which run a task is about: a plan issue, local session files, or both — or several
    plans at once (``selection``)."""

    repo: Path
    issue: int | None = None
    sessions: tuple[Path, ...] = ()
    run_id: str | None = None
    force: bool = False
    dry_run: bool = False  # `learn --dry-run`: no GitHub writes, and nothing left behind
    selection: Selection | None = None

    def key(self) -> str:
        if self.selection is not None:
            return state.plans_key(self.selection.spec())
        if self.issue is not None:
            return str(self.issue)
        if self.sessions:
            return state.local_key(list(self.sessions), self.run_id)
        if self.run_id:
            return f"local-{self.run_id}"
        return state.latest_key(self.repo)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def timestamp() -> str:
    return now().isoformat().replace("+00:00", "Z")


def set_status(deps: Deps, issue: int | None, status: str, **fields: object) -> None:
    """Write ``learn_status`` (and other fields) into the plan's metadata; no-op without a plan."""
    if issue is None:
        return
    updates: dict[str, object | None] = {"learn_status": status, **fields}
    deps.github.update_issue_body(issue, lambda body: plan_header.update_header(body, updates))


def set_in_review(deps: Deps, issue: int | None, pr: int | None, branch: str) -> None:
    """The plan's docs wait in learn PR ``pr`` (on ``branch``)."""
    set_status(
        deps,
        issue,
        plan_header.PENDING_REVIEW,
        learn_pr=pr,
        learn_branch=branch,
        last_learn_at=timestamp(),
        learn_error=None,
    )


def set_failed(deps: Deps, issue: int | None, reason: str) -> None:
    set_status(deps, issue, plan_header.FAILED, learn_error=clean(reason)[:200])
