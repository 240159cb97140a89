"""FakeGitHubGateway: an in-memory GitHub for fast unit tests of the steps (records, injects errors)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from learn.errors import GitHubError, UsageError
from learn.gateways.github import ArtifactInfo, Issue, PullRequest


@dataclass
class FakeGitHubGateway:
    """In-memory GitHub for unit tests: records calls, fails on request (``fail[name]``)."""

    issues: dict[int, Issue] = field(default_factory=dict)
    runs: dict[str, list[ArtifactInfo]] = field(default_factory=dict)
    blobs: dict[int, bytes] = field(default_factory=dict)
    trunk: str = "main"
    comments: dict[int, list[str]] = field(default_factory=dict)
    prs: dict[str, PullRequest] = field(default_factory=dict)
    fail: dict[str, Exception] = field(default_factory=dict)
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name in self.fail:
            raise self.fail[name]

    def default_branch(self) -> str:
        self._record("default_branch")
        return self.trunk

    def issue(self, number: int) -> Issue:
        self._record("issue", number)
        if number not in self.issues:
            raise UsageError(f"issue #{number} not found")
        return self.issues[number]

    def artifacts(self, run_id: str) -> list[ArtifactInfo]:
        self._record("artifacts", run_id)
        if run_id not in self.runs:
            raise GitHubError(f"workflow run {run_id} not found")
        return self.runs[run_id]

    def download_artifact(self, artifact: ArtifactInfo, dest: Path, max_bytes: int) -> Path:
        self._record("download_artifact", artifact.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(self.blobs[artifact.id])
        return dest

    def update_issue_body(self, number: int, change: Callable[[str], str]) -> str:
        self._record("update_issue_body", number)
        issue = self.issues[number]
        new = change(issue.body)
        self.issues[number] = Issue(issue.number, issue.title, new, issue.url)
        return new

    def comment_once(self, number: int, body: str, marker: str) -> int:
        self._record("comment_once", number, body)
        existing = self.comments.setdefault(number, [])
        if not any(marker in c for c in existing):
            existing.append(body)
        return len(existing)

    def find_open_pr(self, branch: str) -> PullRequest | None:
        return self.prs.get(branch)

    def open_draft_pr(
        self, branch: str, base: str, title: str, body: str
    ) -> tuple[PullRequest, str]:
        self._record("open_draft_pr", branch, base, title)
        if branch in self.prs:
            return self.prs[branch], "updated"
        self.prs[branch] = PullRequest(
            100 + len(self.prs), f"https://github.test/pull/{100 + len(self.prs)}"
        )
        return self.prs[branch], "created"

    def pull(self, number: int) -> PullRequest | None:
        self._record("pull", number)
        return next((p for p in self.prs.values() if p.number == number), None)

    def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        self._record("update_pr", pr.number, title)
        return pr

    def open_learn_prs(self, base: str) -> list[PullRequest]:
        self._record("open_learn_prs", base)
        return [p for p in self.prs.values() if p.state == "open"]

    def plan_issues(self, label: str, limit: int, accept: Callable[[Issue], bool]) -> list[Issue]:
        self._record("plan_issues", label, limit)
        return [i for i in self.issues.values() if accept(i)][:limit]
