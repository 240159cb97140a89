"""The GitHub gateway: every GitHub request goes through :class:`GitHub` (PyGithub).

- Reads are retried by urllib3 (GET only) with backoff on 5xx, 429 and rate-limit 403s.
- Writes are never retried blindly: PyGithub's default retry also retries POST, so a 5xx whose
  write went through would duplicate a PR or comment. A failed write is retried only after
  checking that it did not happen (comments carry a hidden marker; a PR is found by its head).
- Library errors become :class:`GitHubError`/:class:`UsageError` with messages for people.

:class:`FakeGitHubGateway` is the in-memory stand-in for fast unit tests of the steps.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.Artifact import Artifact
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.PaginatedList import PaginatedList

from learn.errors import GitHubError, UsageError

T = TypeVar("T")
ACTIONS_PR_FORBIDDEN = "not permitted to create or approve pull requests"
_TRANSIENT = {429, 500, 502, 503, 504}


@dataclass(frozen=True, slots=True)
class Issue:
    number: int
    title: str
    body: str
    url: str


@dataclass(frozen=True, slots=True)
class PullRequest:
    number: int
    url: str


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    id: int
    name: str
    expired: bool
    size: int


@dataclass(frozen=True)
class Settings:
    repo: str  # owner/name
    token: str
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    retries: int = 3
    backoff: float = 1.0  # seconds, doubled on each retry
    timeout: int = 30
    max_rate_limit_wait: float = 60.0

    @classmethod
    def from_env(cls, origin_url: str | None, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or ""
        if not token:
            raise UsageError("no GitHub token", fix="set GITHUB_TOKEN (or GH_TOKEN)")
        repo = env.get("GITHUB_REPOSITORY") or repo_from_remote(origin_url or "")
        if not repo:
            raise UsageError(
                "cannot tell the GitHub repository",
                fix="set GITHUB_REPOSITORY=owner/name or add a GitHub origin remote",
            )
        return cls(
            repo=repo,
            token=token,
            api_url=env.get("GITHUB_API_URL") or cls.api_url,
            server_url=env.get("GITHUB_SERVER_URL") or cls.server_url,
            retries=int(env.get("LEARN_GITHUB_RETRIES") or cls.retries),
            backoff=float(env.get("LEARN_GITHUB_BACKOFF") or cls.backoff),
        )


def repo_from_remote(url: str) -> str:
    """``owner/name`` from an origin URL (https, ssh or scp-like), or ""."""
    url = url.strip().removesuffix("/").removesuffix(".git")
    for sep in ("github.com/", "github.com:"):
        if sep in url:
            parts = url.split(sep, 1)[1].split("/")
            if len(parts) >= 2 and parts[0] and parts[1]:
                return f"{parts[0]}/{parts[1]}"
    return ""


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "").strip()
    details = [
        str(e.get("message"))
        for e in data.get("errors") or []
        if isinstance(e, dict) and e.get("message")
    ]
    return "; ".join([message, *details]) if details else message


def _is_rate_limit(exc: GithubException) -> bool:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    return headers.get("x-ratelimit-remaining") == "0" or "rate limit" in _message(exc).lower()


def _reset_time(exc: GithubException) -> str:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    reset = headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        when = dt.datetime.fromtimestamp(int(reset), dt.UTC)
        return f"; it resets at {when:%H:%M:%S} UTC"
    return ""


class _Retry(GithubRetry):
    """GithubRetry, plus: a 429 primary rate limit that resets later than we may wait fails at
    once, keeping GitHub's headers (so the message can say when it resets)."""

    def increment(
        self, method: Any = None, url: Any = None, response: Any = None, *args: Any, **kw: Any
    ) -> Any:
        if (
            response is not None
            and response.status == 429
            and "Retry-After" not in response.headers
        ):
            headers = {k.lower(): v for k, v in response.headers.items()}
            reset = headers.get("x-ratelimit-reset", "")
            if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
                wait = int(reset) - time.time()
                if self.max_rate_limit_wait is not None and wait > self.max_rate_limit_wait:
                    raise GithubException(429, {"message": "API rate limit exceeded"}, headers)
        return super().increment(method, url, response, *args, **kw)


class GitHub:
    """The real gateway (PyGithub against ``api_url``)."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.sleep = sleep
        retry = _Retry(
            total=settings.retries,
            backoff_factor=settings.backoff / 2,
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=sorted(_TRANSIENT),
            max_rate_limit_wait=settings.max_rate_limit_wait,
            secondary_rate_wait=min(60.0, settings.max_rate_limit_wait),
        )
        self.client = Github(
            base_url=settings.api_url,
            auth=Auth.Token(settings.token),
            retry=retry,
            timeout=settings.timeout,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
        )
        self.repo = self.client.get_repo(settings.repo, lazy=True)

    # -- error mapping ---------------------------------------------------------------------
    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except BadCredentialsException:
            raise UsageError(
                "GitHub rejected the token (401 Bad credentials)",
                fix="check GITHUB_TOKEN / GH_TOKEN",
            ) from None
        except RateLimitExceededException as exc:
            raise GitHubError(
                f"GitHub rate limit exceeded while {what}{_reset_time(exc)}"
            ) from None
        except UnknownObjectException:
            raise GitHubError(
                f"not found on GitHub while {what} (repository {self.settings.repo})"
            ) from None
        except GithubException as exc:
            status = exc.status
            if status in (403, 429) and _is_rate_limit(exc):
                raise GitHubError(
                    f"GitHub rate limit exceeded while {what}{_reset_time(exc)}"
                ) from None
            raise GitHubError(f"GitHub answered {status} while {what}: {_message(exc)}") from None
        except requests.RequestException as exc:
            raise GitHubError(f"cannot reach GitHub while {what}: {type(exc).__name__}") from None
        except Exception as exc:  # urllib3 MaxRetryError and friends, wrapped by requests or not
            if type(exc).__module__.startswith(("urllib3", "requests")):
                raise GitHubError(
                    f"cannot reach GitHub while {what}: {type(exc).__name__}"
                ) from None
            raise

    def _write(self, what: str, attempt: Callable[[], T], already: Callable[[], T | None]) -> T:
        """Run a write; after a transient failure, look for its effect before trying again."""
        delay = self.settings.backoff
        for tries_left in range(self.settings.retries, -1, -1):
            try:
                with self._errors(what):
                    return attempt()
            except GitHubError as exc:
                if tries_left == 0 or not _transient(exc):
                    raise
            self.sleep(delay)
            delay *= 2
            with self._errors(what):
                found = already()
            if found is not None:
                return found
        raise AssertionError("unreachable")

    # -- reads -----------------------------------------------------------------------------
    def default_branch(self) -> str:
        with self._errors("reading the repository"):
            return str(self.client.get_repo(self.settings.repo).default_branch)

    def issue(self, number: int) -> Issue:
        with self._errors(f"reading issue #{number}"):
            try:
                issue = self.repo.get_issue(number)
                is_pr = issue.pull_request is not None
                body, title, url = issue.body or "", issue.title, issue.html_url
            except UnknownObjectException:
                raise UsageError(
                    f"issue #{number} not found in {self.settings.repo}",
                    fix="check the issue number and the repository",
                ) from None
        if is_pr:
            raise UsageError(f"#{number} is a pull request, not a plan issue")
        return Issue(number, title, body, url)

    def artifacts(self, run_id: str) -> list[ArtifactInfo]:
        with self._errors(f"listing the artifacts of workflow run {run_id}"):
            try:
                # One request: page the run's artifacts directly (fetching the run first costs one more).
                listing = PaginatedList(
                    Artifact,
                    self.repo._requester,
                    f"{self.repo.url}/actions/runs/{int(run_id)}/artifacts",
                    None,
                    list_item="artifacts",
                )
                return [
                    ArtifactInfo(a.id, a.name, bool(a.expired), int(a.size_in_bytes or 0))
                    for a in listing
                ]
            except UnknownObjectException:
                raise GitHubError(
                    f"workflow run {run_id} not found in {self.settings.repo}",
                    fix="the plan's last_remote_impl_run_id may be wrong or the run was deleted",
                ) from None

    def find_open_pr(self, branch: str) -> PullRequest | None:
        owner = self.settings.repo.split("/")[0]
        with self._errors(f"looking for the pull request of {branch}"):
            for pr in self.repo.get_pulls(state="open", head=f"{owner}:{branch}"):
                return PullRequest(pr.number, pr.html_url)
        return None

    def find_comment(self, number: int, marker: str) -> int | None:
        with self._errors(f"reading the comments of issue #{number}"):
            for comment in self.repo.get_issue(number).get_comments():
                if marker in (comment.body or ""):
                    return int(comment.id)
        return None

    # -- downloads -------------------------------------------------------------------------
    def download_artifact(self, artifact: ArtifactInfo, dest: Path, max_bytes: int) -> Path:
        """Fetch the artifact's zip: the API redirects to a short-lived URL (no token sent there)."""
        url = f"{self.settings.api_url.rstrip('/')}/repos/{self.settings.repo}/actions/artifacts/{artifact.id}/zip"
        headers = {
            "Authorization": f"Bearer {self.settings.token}",
            "Accept": "application/vnd.github+json",
        }
        delay = self.settings.backoff
        for tries_left in range(self.settings.retries, -1, -1):
            try:
                return self._download(url, headers, artifact, dest, max_bytes)
            except GitHubError as exc:
                if tries_left == 0 or not _transient(exc):
                    raise
            self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _download(
        self, url: str, headers: dict[str, str], artifact: ArtifactInfo, dest: Path, cap: int
    ) -> Path:
        what = f"downloading artifact {artifact.name}"
        try:
            first = requests.get(
                url, headers=headers, allow_redirects=False, timeout=self.settings.timeout
            )
            if first.status_code in (301, 302, 303, 307, 308):
                target = first.headers["Location"]
                answer = requests.get(target, stream=True, timeout=self.settings.timeout)
            else:
                answer = first
            if answer.status_code == 410:
                raise GitHubError(
                    f"artifact {artifact.name} has expired",
                    fix="artifacts are kept for a limited time; re-run the implementation to upload it again",
                )
            if answer.status_code == 401:
                raise UsageError("GitHub rejected the token (401) while downloading an artifact")
            if answer.status_code >= 400:
                raise GitHubError(f"GitHub answered {answer.status_code} while {what}")
            size = 0
            dest.parent.mkdir(parents=True, exist_ok=True)
            with dest.open("wb") as out:
                for chunk in answer.iter_content(1 << 20):
                    size += len(chunk)
                    if size > cap:
                        raise GitHubError(
                            f"artifact {artifact.name} is over the download cap ({cap // (1024 * 1024)} MB)"
                        )
                    out.write(chunk)
            return dest
        except requests.RequestException as exc:
            raise GitHubError(f"cannot reach GitHub while {what}: {type(exc).__name__}") from None

    # -- writes ----------------------------------------------------------------------------
    def update_issue_body(self, number: int, change: Callable[[str], str]) -> str:
        """Re-read the body right before writing, so a concurrent edit is not lost.

        ``change`` must be idempotent (it may run again after a transient failure).
        """

        def attempt() -> str:
            issue = self.repo.get_issue(number)
            new = change(issue.body or "")
            if new != (issue.body or ""):
                issue.edit(body=new)
            return new

        return self._write(f"updating issue #{number}", attempt, lambda: None)

    def comment_once(self, number: int, body: str, marker: str) -> int:
        """Post ``body`` (which contains ``marker``) unless a comment with ``marker`` exists."""

        def attempt() -> int:
            return int(self.repo.get_issue(number).create_comment(body).id)

        return self._write(
            f"commenting on issue #{number}", attempt, lambda: self.find_comment(number, marker)
        )

    def open_draft_pr(
        self, branch: str, base: str, title: str, body: str
    ) -> tuple[PullRequest, str]:
        """Open a draft PR for ``branch``, or update the open one: (pr, "created" | "updated")."""

        def attempt() -> tuple[PullRequest, str]:
            try:
                pr = self.repo.create_pull(
                    base=base, head=branch, title=title, body=body, draft=True
                )
                return PullRequest(pr.number, pr.html_url), "created"
            except GithubException as exc:
                if exc.status == 422 and "already exists" in _message(exc):
                    existing = self.find_open_pr(branch)
                    if existing is not None:
                        return self.update_pr(existing, title, body), "updated"
                if exc.status == 403 and ACTIONS_PR_FORBIDDEN in _message(exc):
                    raise GitHubError(
                        f"GitHub Actions may not create pull requests in {self.settings.repo}",
                        fix="enable Settings → Actions → General → 'Allow GitHub Actions to create and "
                        "approve pull requests', or use a PAT; the docs are on the pushed branch",
                    ) from None
                raise

        def already() -> tuple[PullRequest, str] | None:
            found = self.find_open_pr(branch)
            return (found, "created") if found else None

        return self._write(f"opening the pull request for {branch}", attempt, already)

    def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        with self._errors(f"updating pull request #{pr.number}"):
            self.repo.get_pull(pr.number).edit(title=title, body=body)
        return pr


@dataclass(frozen=True, slots=True)
class WorkflowRun:
    id: int
    title: str
    status: str  # queued | in_progress | completed | ...
    conclusion: str  # success | failure | cancelled | "" while running
    url: str


def _run_of(run: Any) -> WorkflowRun:
    title = getattr(run, "display_title", None) or run.name or ""
    return WorkflowRun(
        int(run.id),
        str(title),
        str(run.status or ""),
        str(run.conclusion or ""),
        str(run.html_url or ""),
    )


class Dispatcher:
    """Workflow dispatch and run discovery (``invoke dispatch``), over the same client."""

    def __init__(self, gh: GitHub) -> None:
        self.gh = gh

    def dispatch(self, workflow: str, ref: str, inputs: dict[str, str]) -> None:
        # PyGithub's create_dispatch answers False and drops GitHub's reason; the requester raises.
        url = f"{self.gh.repo.url}/actions/workflows/{workflow}/dispatches"
        with self.gh._errors(f"dispatching {workflow} on {ref}"):
            self.gh.repo._requester.requestJsonAndCheck(
                "POST", url, input={"ref": ref, "inputs": inputs}
            )

    def find_run(self, workflow: str, marker: str, since: dt.datetime) -> WorkflowRun | None:
        """The dispatched run whose title carries ``marker`` (created at or after ``since``)."""
        created = f">={since.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
        with self.gh._errors(f"listing the runs of {workflow}"):
            runs = self.gh.repo.get_workflow(workflow).get_runs(
                event="workflow_dispatch", created=created
            )
            for run in runs:
                found = _run_of(run)
                if marker in found.title:
                    return found
        return None

    def run(self, run_id: int) -> WorkflowRun:
        with self.gh._errors(f"reading workflow run {run_id}"):
            return _run_of(self.gh.repo.get_workflow_run(run_id))


def _transient(exc: GitHubError) -> bool:
    text = exc.message
    return "cannot reach GitHub" in text or any(f"answered {code}" in text for code in _TRANSIENT)


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
