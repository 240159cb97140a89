"""The GitHub gateway: every GitHub request goes through :class:`GitHub` (PyGithub).

One retry policy (:class:`RetryPolicy`, from the ``github_retries``/``github_backoff`` settings)
serves every request:

- Reads are retried by PyGithub's ``GithubRetry`` (urllib3; GET only) with backoff on 5xx, 429
  and rate-limit 403s.
- Writes and the artifact download go through :meth:`GitHub._retrying` (tenacity), keyed on
  :attr:`GitHubError.status`. Writes are never retried blindly: PyGithub's default retry also
  retries POST, so a 5xx whose write went through would duplicate a PR or comment. A failed write
  is retried only after checking that it did not happen (comments carry a hidden marker; a PR is
  found by its head).
- Library errors become :class:`GitHubError`/:class:`UsageError` with messages for people.

:class:`GitHubLike` is what the steps need of it (``tests/fakes/github_gateway.py`` is the
in-memory fake).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import requests
import tenacity
from github import Auth, Github, GithubException, GithubRetry
from github.Artifact import Artifact
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.PaginatedList import PaginatedList

from learn.errors import GitHubError, UsageError
from learn.settings import Settings

__all__ = [
    "ACTIONS_PR_FORBIDDEN",
    "LEARN_BRANCH_PREFIX",
    "ArtifactInfo",
    "GitHub",
    "GitHubLike",
    "GitHubSettings",
    "Issue",
    "PullRequest",
    "RetryPolicy",
    "T",
    "WorkflowRun",
    "repo_from_remote",
]

T = TypeVar("T")
# PyGithub logs each retry to stderr (its own handler, level INFO); our messages say what GitHub
# answered, once.
logging.getLogger("github").setLevel(logging.ERROR)
ACTIONS_PR_FORBIDDEN = "not permitted to create or approve pull requests"


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
    branch: str = ""  # the head branch
    state: str = "open"  # open | closed
    merged: bool = False


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    id: int
    name: str
    expired: bool
    size: int


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a transient GitHub failure is tried again."""

    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    max_rate_limit_wait: float = 60.0  # a rate limit that resets later than this fails at once

    def for_reads(self) -> GithubRetry:
        """PyGithub's urllib3 retry for GETs (writes are retried by :meth:`GitHub._retrying`)."""
        return _Retry(
            total=self.retries,
            backoff_factor=self.backoff / 2,
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=sorted(GitHubError.TRANSIENT),
            raise_on_status=False,  # when retries run out, GitHub's last answer is reported
            max_rate_limit_wait=self.max_rate_limit_wait,
            secondary_rate_wait=min(60.0, self.max_rate_limit_wait),
        )


@dataclass(frozen=True)
class GitHubSettings:
    repo: str  # owner/name
    token: str
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: int = 30

    @classmethod
    def from_env(
        cls, origin_url: str | None, settings: Settings, env: Mapping[str, str] | None = None
    ) -> GitHubSettings:
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
            retry=RetryPolicy(settings.github_retries, settings.github_backoff),
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
    return (
        headers.get("x-ratelimit-remaining") == "0"
        or "rate limit" in _message(exc).lower()
        or _secondary_spent(exc)
    )


def _secondary_spent(exc: GithubException) -> bool:
    """A 403 that lost its message: PyGithub's retry reads a 403's body to tell a rate limit
    from a refusal, and when the retries for a secondary limit run out, the answer it hands back
    has no body left (a refusal is raised with its body; a primary limit has its headers)."""
    return exc.status == 403 and not _message(exc)


def _reset_time(exc: GithubException) -> str:
    """When to try again, as GitHub says it: ``retry-after`` (a secondary limit, or any limit
    that sends it), else the primary limit's reset when it is used up; a secondary limit
    without either is worth a minute's wait (GitHub's REST documentation)."""
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    retry_after = headers.get("retry-after", "")
    if retry_after.isdigit():
        return f"; GitHub asks to wait {int(retry_after)} s before trying again"
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        when = dt.datetime.fromtimestamp(int(reset), dt.UTC)
        return f"; it resets at {when:%H:%M:%S} UTC"
    if "secondary rate limit" in _message(exc).lower() or _secondary_spent(exc):
        return "; a secondary limit: wait at least a minute before trying again"
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


class GitHubLike(Protocol):
    """What the steps need of GitHub: :class:`GitHub`, or a fake in unit tests."""

    def default_branch(self) -> str: ...
    def issue(self, number: int) -> Issue: ...
    def artifacts(self, run_id: str) -> list[ArtifactInfo]: ...
    def download_artifact(self, artifact: ArtifactInfo, dest: Path, max_bytes: int) -> Path: ...
    def update_issue_body(self, number: int, change: Callable[[str], str]) -> str: ...
    def comment_once(self, number: int, body: str, marker: str) -> int: ...
    def open_draft_pr(
        self, branch: str, base: str, title: str, body: str
    ) -> tuple[PullRequest, str]: ...
    def pull(self, number: int) -> PullRequest | None: ...
    def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest: ...
    def open_learn_prs(self, base: str) -> list[PullRequest]: ...
    def plan_issues(
        self, label: str, limit: int, accept: Callable[[Issue], bool]
    ) -> list[Issue]: ...


LEARN_BRANCH_PREFIX = "learn-"


class GitHub:
    """The real gateway (PyGithub against ``api_url``)."""

    def __init__(
        self, settings: GitHubSettings, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.client = Github(
            base_url=settings.api_url,
            auth=Auth.Token(settings.token),
            retry=settings.retry.for_reads(),
            timeout=settings.timeout,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
        )
        self.repo = self.client.get_repo(settings.repo)  # lazy: the client was made lazy

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
                f"GitHub rate limit exceeded while {what}{_reset_time(exc)}", status=exc.status
            ) from None
        except UnknownObjectException:
            raise GitHubError(
                f"not found on GitHub while {what} (repository {self.settings.repo})", status=404
            ) from None
        except GithubException as exc:
            status = exc.status
            if status in (403, 429) and _is_rate_limit(exc):
                raise GitHubError(
                    f"GitHub rate limit exceeded while {what}{_reset_time(exc)}", status=status
                ) from None
            raise GitHubError(
                f"GitHub answered {status} while {what}: {_message(exc)}", status=status
            ) from None
        except requests.exceptions.RetryError as exc:  # GitHub answered, again and again
            found = re.search(r"too many (\d{3}) error", str(exc))
            code = int(found.group(1)) if found else None
            answered = f"GitHub kept answering {code}" if code else "GitHub kept failing"
            raise GitHubError(f"{answered} while {what}", status=code) from None
        except requests.RequestException as exc:
            raise GitHubError(
                f"cannot reach GitHub while {what}: {type(exc).__name__}", status=None
            ) from None
        except Exception as exc:  # urllib3 MaxRetryError and friends, wrapped by requests or not
            if type(exc).__module__.startswith(("urllib3", "requests")):
                raise GitHubError(
                    f"cannot reach GitHub while {what}: {type(exc).__name__}", status=None
                ) from None
            raise

    def _retrying(
        self, attempt: Callable[[], T], already: Callable[[], T | None] | None = None
    ) -> T:
        """Run ``attempt``, retrying transient failures (:attr:`GitHubError.transient`) by the policy.

        Before each retry, ``already`` looks for the effect of the failed try (a write whose
        answer was lost may have landed): when it finds one, that is the result.
        """
        policy = self.settings.retry
        tries = 0

        def run() -> T:
            nonlocal tries
            tries += 1
            if tries > 1 and already is not None:
                found = already()
                if found is not None:
                    return found
            return attempt()

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.retries + 1),
            wait=tenacity.wait_exponential(multiplier=policy.backoff, max=60),
            retry=tenacity.retry_if_exception(
                lambda exc: isinstance(exc, GitHubError) and exc.transient
            ),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(run)

    def _write(self, what: str, attempt: Callable[[], T], already: Callable[[], T | None]) -> T:
        """A write, retried only after checking that the failed try did not land."""

        def mapped() -> T:
            with self._errors(what):
                return attempt()

        def found() -> T | None:
            with self._errors(what):
                return already()

        return self._retrying(mapped, found)

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
                    self.client.requester,
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

    def pull(self, number: int) -> PullRequest | None:
        """The pull request ``number`` (None when there is none, e.g. an issue number)."""
        with self._errors(f"reading pull request #{number}"):
            try:
                pr = self.repo.get_pull(number)
                return PullRequest(
                    pr.number, pr.html_url, pr.head.ref, str(pr.state), bool(pr.merged)
                )
            except UnknownObjectException:
                return None

    def open_learn_prs(self, base: str) -> list[PullRequest]:
        """The open pull requests into ``base`` whose head is a learn branch of this repository."""
        with self._errors(f"listing the open pull requests into {base}"):
            return [
                PullRequest(pr.number, pr.html_url, pr.head.ref)
                for pr in self.repo.get_pulls(state="open", base=base)
                if pr.head.ref.startswith(LEARN_BRANCH_PREFIX)
                and pr.head.repo is not None
                and pr.head.repo.full_name.lower() == self.settings.repo.lower()
            ]

    def plan_issues(self, label: str, limit: int, accept: Callable[[Issue], bool]) -> list[Issue]:
        """Up to ``limit`` open issues labelled ``label`` (oldest first) that ``accept`` keeps."""
        found: list[Issue] = []
        with self._errors(f"listing the open issues labelled {label}"):
            listing = self.repo.get_issues(
                state="open", labels=[label], sort="created", direction="asc"
            )
            for item in listing:
                if item.pull_request is not None:
                    continue
                issue = Issue(item.number, item.title, item.body or "", item.html_url)
                if accept(issue):
                    found.append(issue)
                    if len(found) >= limit:
                        break
        return found

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
        return self._retrying(lambda: self._download(url, headers, artifact, dest, max_bytes))

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
                    status=410,
                )
            if answer.status_code == 401:
                raise UsageError("GitHub rejected the token (401) while downloading an artifact")
            if answer.status_code >= 400:
                raise GitHubError(
                    f"GitHub answered {answer.status_code} while {what}", status=answer.status_code
                )
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
            raise GitHubError(
                f"cannot reach GitHub while {what}: {type(exc).__name__}", status=None
            ) from None

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

    # -- workflow dispatch (invoke dispatch) -----------------------------------------------
    def dispatch_workflow(self, workflow: str, ref: str, inputs: dict[str, str]) -> None:
        # PyGithub's create_dispatch answers False and drops GitHub's reason; the requester raises.
        url = f"{self.repo.url}/actions/workflows/{workflow}/dispatches"
        with self._errors(f"dispatching {workflow} on {ref}"):
            self.client.requester.requestJsonAndCheck(
                "POST", url, input={"ref": ref, "inputs": inputs}
            )

    def find_dispatched_run(
        self, workflow: str, marker: str, since: dt.datetime
    ) -> WorkflowRun | None:
        """The dispatched run whose title carries ``marker`` (created at or after ``since``)."""
        created = f">={since.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
        with self._errors(f"listing the runs of {workflow}"):
            runs = self.repo.get_workflow(workflow).get_runs(
                event="workflow_dispatch", created=created
            )
            for run in runs:
                found = _run_of(run)
                if marker in found.title:
                    return found
        return None

    def workflow_run(self, run_id: int) -> WorkflowRun:
        with self._errors(f"reading workflow run {run_id}"):
            return _run_of(self.repo.get_workflow_run(run_id))


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
