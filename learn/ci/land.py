"""Learning at land time: which plan a merged pull request implements.

The workflow's ``pull_request: closed`` trigger hands the event to ``learn-async find-plan``,
which looks for the plan issue, in order, in:

1. closing keywords in the PR body (``Closes #7``, ``fixes owner/repo#7``: GitHub's list);
2. a plan header (metadata block) in the PR body naming the plan (``plan_issue``,
   ``plan_issue_number`` or ``issue_number``);
3. the head branch name (``P7-add-slugify``, ``plan-7``, ``issue-7``, ``7-add-slugify``).

Each candidate must be an issue of this repository with a plan header. Every plan the PR body
names (1 and 2) is learned, several together into one PR; the branch name counts only when the
body names none. None found, or a PR closed without merging, is not an error: the run ends
quietly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from learn import plan_header
from learn.errors import UsageError
from learn.gateways.github import GitHubLike

__all__ = ["Candidate", "Found", "candidates", "find_plan"]

# https://docs.github.com/en/issues/tracking-your-work-with-issues/linking-a-pull-request-to-an-issue
_CLOSING = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+"
    r"(?:(?P<repo>[\w.-]+/[\w.-]+))?#(?P<number>\d+)\b",
    re.IGNORECASE,
)
_HEADER_KEYS = ("plan_issue", "plan_issue_number", "issue_number")
_BRANCH = (
    re.compile(r"(?:^|/)[Pp](?P<number>\d+)(?:-|$)"),  # erk: P7-add-slugify
    re.compile(r"(?:^|/)(?:plan|issue)[-_/]?(?P<number>\d+)(?:\b|$)", re.IGNORECASE),
    re.compile(r"(?:^|/)(?P<number>\d+)-"),  # 7-add-slugify
)


@dataclass(frozen=True)
class Candidate:
    number: int
    why: str  # "closing keyword", "plan header in the PR body", "branch name"
    named: bool = True  # the PR body names it (a closing keyword or the plan header)


@dataclass(frozen=True)
class Found:
    issues: tuple[int, ...]  # none: nothing to learn
    why: str  # how they were found, or why nothing was


def candidates(pull: Mapping[str, Any], repository: str) -> list[Candidate]:
    """Plan numbers a pull request names, in order of trust, without duplicates."""
    body = str(pull.get("body") or "")
    found: list[Candidate] = []
    for m in _CLOSING.finditer(body):
        if m["repo"] is None or m["repo"].lower() == repository.lower():
            found.append(Candidate(int(m["number"]), f"closing keyword {m.group(0).strip()!r}"))
    header = plan_header.read_header(body) or {}
    for key in _HEADER_KEYS:
        value = str(header.get(key) or "").lstrip("#")
        if value.isdigit():
            found.append(Candidate(int(value), f"plan header field {key}"))
    branch = str((pull.get("head") or {}).get("ref") or "")
    for pattern in _BRANCH:
        hit = pattern.search(branch)
        if hit:
            found.append(Candidate(int(hit["number"]), f"branch name {branch!r}", named=False))
            break
    seen: set[int] = set()
    unique = []
    for c in found:
        if c.number not in seen and c.number != pull.get("number"):
            seen.add(c.number)
            unique.append(c)
    return unique


def find_plan(event: Mapping[str, Any], repository: str, github: GitHubLike) -> Found:
    """The plans a merged pull request implements (``Found((), why)`` when none)."""
    pull = event.get("pull_request")
    if not isinstance(pull, Mapping):
        return Found((), "the event is not about a pull request; pass --issue N")
    if not pull.get("merged"):
        return Found((), f"pull request #{pull.get('number')} was closed without merging")
    named = candidates(pull, repository)
    if not named:
        return Found(
            (), f"pull request #{pull.get('number')} names no plan (closing keyword or branch)"
        )
    rejected: list[str] = []
    plans: list[Candidate] = []
    for candidate in named:
        if plans and not candidate.named:
            break  # the branch name is a guess: only when the body names no plan
        try:
            issue = github.issue(candidate.number)
        except UsageError as exc:  # not found, or a pull request; a bad token still fails
            if "not found" not in exc.message and "pull request" not in exc.message:
                raise
            rejected.append(f"#{candidate.number} is not an issue")
            continue
        if plan_header.read_header(issue.body) is None:
            rejected.append(f"#{candidate.number} is not a plan")
            continue
        plans.append(candidate)
    if not plans:
        return Found((), "no plan among " + ", ".join(rejected))
    whys = "; ".join(f"#{c.number} from the {c.why}" for c in plans)
    return Found(tuple(c.number for c in plans), f"plan{'s' if len(plans) > 1 else ''} {whys}")
