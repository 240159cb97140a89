"""A loopback fake of the GitHub REST API, for driving **PyGithub's real HTTP code path**.

Stdlib only. Start it as a context manager, set up state, and point PyGithub at it with
``Github(base_url=gh.base_url, auth=Auth.Token(token), retry=None,
seconds_between_requests=None, seconds_between_writes=None)`` (or :meth:`FakeGitHub.github`)::

    with FakeGitHub(tokens={"t0ken"}, page_size=2) as gh:
        repo = gh.add_repo("acme/widgets", default_branch="trunk")
        issue = repo.add_issue(title="Plan: X", body="...")
        run = repo.add_run(21202876864)
        run.add_artifact("session-abc", make_zip({"s.jsonl": b"{}\\n"}))
        gh.fail("POST", r"/issues/\\d+/comments$", status=502, after=True)  # write lands, reply lost
        ... code under test, with GITHUB_API_URL=gh.base_url ...
    assert [c.body for c in issue.comments] == [...]
    assert gh.count("POST", r"/pulls$") == 1

**State** is plain dataclasses the test sets up and inspects: :class:`FakeRepo` (issues, pulls,
runs, workflows; issue and PR numbers share one counter per repository, like GitHub),
:class:`FakeIssue`, :class:`FakePull`, :class:`FakeComment`, :class:`FakeRun`,
:class:`FakeArtifact`, :class:`FakeWorkflow`, :class:`FakeDispatch`. Mutate it freely between
requests (the server takes :attr:`FakeGitHub.lock` while it handles one).

**Workflows and dispatch**::

    wf = repo.add_workflow(
        "learn-async.yml",
        run_name=lambda inputs: f"learn-async #{inputs['issue_number']} [{inputs.get('distinct_id', '')}]",
        run_states=[("in_progress", None), ("completed", "success")],  # one step per GET of the run
    )  # or add_workflow("learn-async.yml", source=".github/workflows/learn-async.yml")
    wf.on_dispatch(lambda d: d.run.advance_after_polls.append(("completed", "failure")))
    ... repo.get_workflow("learn-async.yml").create_dispatch(ref="main", inputs={...}) ...
    (d,) = wf.dispatches; d.inputs, d.ref, d.run.display_title, d.run.polls

A dispatch (204) records a :class:`FakeDispatch`, creates a ``queued`` ``workflow_dispatch`` run
(``display_title`` from ``run_name``, ``head_branch`` = ref, ``created_at`` now, ``actor`` = the
token's login; ``create_runs=False`` starts none; ``run_appears_after=n`` hides it from the
first n run lists, like GitHub's lag) and then calls the ``on_dispatch`` hooks. Each
``GET .../actions/runs/{id}`` answers the run's current state, then applies the next entry of
:attr:`FakeRun.advance_after_polls` (or call :meth:`FakeRun.set_state` /
:meth:`FakeRun.complete`). With an ``inputs`` declaration, undeclared inputs and missing
required ones are 422 (``Unexpected inputs provided: [...]``, ``Required input 'x' not
provided``); a ref not in ``branches`` is 422 ``No ref found for: x``. Body
``return_run_details: true`` answers 200 ``{workflow_run_id, run_url, html_url}``.

**Endpoints** (JSON shaped like GitHub's, with the fields PyGithub reads, so attribute access
needs no extra "complete" request)::

    GET  /rate_limit                         GET  /user
    GET  /repos/{o}/{r}
    GET  /repos/{o}/{r}/issues               (state=; PRs included, like GitHub)
    GET|PATCH /repos/{o}/{r}/issues/{n}      (title, body, state, state_reason, labels)
    GET|POST  /repos/{o}/{r}/issues/{n}/comments
    GET|PATCH|DELETE /repos/{o}/{r}/issues/comments/{id}
    GET|POST  /repos/{o}/{r}/pulls           (head=owner:branch, base=, state=, direction=)
    GET|PATCH /repos/{o}/{r}/pulls/{n}       (title, body, state, base)
    PUT  /repos/{o}/{r}/pulls/{n}/merge      (merge_method merge|squash, sha, commit_title)
    GET  /repos/{o}/{r}/actions/workflows               (total_count, workflows)
    GET  /repos/{o}/{r}/actions/workflows/{id or file}
    POST /repos/{o}/{r}/actions/workflows/{id or file}/dispatches   {ref, inputs} -> 204
    GET  /repos/{o}/{r}/actions/workflows/{id or file}/runs  (event=, branch=, status=,
    GET  /repos/{o}/{r}/actions/runs                    actor=, head_sha=, created=; newest first)
    GET  /repos/{o}/{r}/actions/runs/{id}
    GET  /repos/{o}/{r}/actions/runs/{id}/artifacts      (name=)
    GET  /repos/{o}/{r}/actions/artifacts                (name=)
    GET  /repos/{o}/{r}/actions/artifacts/{id}
    GET  /repos/{o}/{r}/actions/artifacts/{id}/zip  -> 302 to a signed, expiring blob URL
    GET  /_blobs/{token}?expires=..&sig=..          -> the zip bytes (no auth needed)

**Git over HTTP** (a private repository): :meth:`FakeGitHub.serve_git` puts bare repositories
behind ``{base_url}/{owner}/{name}.git`` (``git http-backend`` as a CGI, smart HTTP, fetch and
push). Every git request needs Basic auth ``x-access-token:<valid token>``, as GitHub's does for
a private repository: without it the answer is 401 with ``WWW-Authenticate: Basic``, which git
turns into "could not read Username" when it may not prompt. :attr:`FakeGitHub.git_requests`
logs them (``(method, path, status)``); they are not in the API request log.

``/repositories/{repo_id}/...`` works as an alias of ``/repos/{o}/{r}/...``; like GitHub, the
``Link`` pagination headers use that form. Unknown routes and objects answer 404
``{"message": "Not Found"}``. Every request needs a valid token (``Authorization: token X``,
``Bearer X`` or git's Basic ``x-access-token:X``): a wrong one is 401 ``Bad credentials``,
none is 401 ``Requires authentication``. Every API response carries ``x-ratelimit-*`` headers.

Deliberate GitHub quirks kept: ``get_pulls(head="branch")`` without the ``owner:`` part ignores
the filter (returns every PR); creating a PR whose head+base already has an open PR is 422
``A pull request already exists for owner:branch.``; an expired artifact's zip is 410; the
blob link is single-use and short-lived; ``GET /user`` with an Actions/App token
(``add_token(..., integration=True)``) is 403 ``Resource not accessible by integration``.

**Git**: ``add_repo(..., git_dir=<bare repository>)`` backs the repository with real git: PR
heads and bases show their real commits, and ``PUT .../pulls/{n}/merge`` merges server-side
with git as GitHub's merge button does (a merge commit, or a squash; no custom merge driver): 405
``Pull Request is not mergeable`` on a conflict or ``Pull Request is still a draft``, 409 when
``sha`` is not the head any more. Without ``git_dir`` a merge only flips the PR's state.

**Faults**: :meth:`FakeGitHub.fail` (status / body / headers / delay / dropped connection, and
``after=True`` = apply the write, then fail: "the write happened but the response was lost").

**Request log**: :attr:`FakeGitHub.requests` (:class:`RecordedRequest`, which also unpacks as
``method, path, query, status, body``), :meth:`FakeGitHub.count`, :meth:`FakeGitHub.writes`.

:func:`make_zip` builds artifact archives, including hostile ones (``../`` names, symlinks,
lying declared sizes).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import math
import os
import re
import secrets
import socket
import stat
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

if TYPE_CHECKING:
    from github import Github

__all__ = [
    "DOCS",
    "PRIMARY_RATE_LIMIT_MESSAGE",
    "PR_CREATION_FORBIDDEN_MESSAGE",
    "SECONDARY_RATE_LIMIT_MESSAGE",
    "FakeArtifact",
    "FakeComment",
    "FakeDispatch",
    "FakeGitHub",
    "FakeIssue",
    "FakePull",
    "FakeRepo",
    "FakeRun",
    "FakeWorkflow",
    "Fault",
    "RecordedRequest",
    "make_zip",
]

DOCS = "https://docs.github.com/rest"
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID "
    "0000:1111:2222:3333:44444444."
)
PRIMARY_RATE_LIMIT_MESSAGE = (
    "API rate limit exceeded for installation ID 12345. If you reach out to GitHub Support for "
    "help, please include the request ID 0000:1111:2222:3333:44444444 and timestamp "
    "2026-01-20 10:00:00 UTC."
)
PR_CREATION_FORBIDDEN_MESSAGE = (
    "GitHub Actions is not permitted to create or approve pull requests."
)

_DEFAULT_MESSAGES = {
    400: "Problems parsing JSON",
    401: "Bad credentials",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    422: "Validation Failed",
    429: PRIMARY_RATE_LIMIT_MESSAGE,
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: (
        "We couldn't respond to your request in time. Sorry about that. Please try resubmitting "
        "your request and contact us if the problem persists."
    ),
}


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()


def _num_id(*parts: object) -> int:
    return int(_sha(*parts)[:7], 16) + 1000


def _node_id(kind: str, n: int) -> str:
    return base64.b64encode(f"0:{kind}{n}".encode()).decode().rstrip("=")


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclass
class FakeComment:
    id: int
    body: str
    user: str
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime | None = None  # None = created_at


@dataclass
class _IssueLike:
    number: int
    title: str
    body: str | None
    state: str = "open"  # "open" | "closed"
    user: str = "octocat"
    labels: list[str] = field(default_factory=list)
    comments: list[FakeComment] = field(default_factory=list)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    html_url: str | None = None  # default: derived from the repository's html_url
    id: int = 0

    def comment_bodies(self) -> list[str]:
        return [c.body for c in self.comments]

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.closed_at = _now() if state == "closed" else None


@dataclass
class FakeIssue(_IssueLike):
    state_reason: str | None = None


@dataclass
class FakePull(_IssueLike):
    head: str = ""  # branch name (the ref)
    head_owner: str = ""  # owner of the head repository (defaults to the base repo's owner)
    base: str = "main"
    draft: bool = False
    merged: bool = False
    merge_commit_sha: str | None = None

    @property
    def head_label(self) -> str:
        """``owner:branch``, GitHub's ``head.label``."""
        return f"{self.head_owner}:{self.head}"


@dataclass
class FakeArtifact:
    id: int
    name: str
    data: bytes
    run: FakeRun = field(repr=False)
    expired: bool = False
    size_in_bytes: int | None = None  # None = len(data)
    created_at: datetime = field(default_factory=_now)
    expires_at: datetime | None = None  # None = created_at + 90 days

    @property
    def size(self) -> int:
        return len(self.data) if self.size_in_bytes is None else self.size_in_bytes


@dataclass
class FakeRun:
    id: int
    repo: FakeRepo = field(repr=False)
    status: str = "completed"
    conclusion: str | None = "success"
    name: str = "CI"
    head_branch: str = "main"
    head_sha: str = ""
    event: str = "workflow_dispatch"
    html_url: str | None = None
    run_number: int = 1
    run_attempt: int = 1
    created_at: datetime = field(default_factory=_now)
    artifacts: list[FakeArtifact] = field(default_factory=list)
    display_title: str | None = None  # None = name
    workflow: FakeWorkflow | None = field(default=None, repr=False)
    actor: str = "octocat"
    updated_at: datetime | None = None  # None = created_at
    inputs: dict[str, Any] = field(default_factory=dict)  # dispatch inputs (not in the API)
    # Scripted progress: each ``GET .../actions/runs/{id}`` is answered with the current state,
    # then the next ``(status, conclusion)`` is applied - e.g. ``[("in_progress", None),
    # ("completed", "success")]``: queued, in_progress, then completed on the third poll.
    advance_after_polls: list[tuple[str, str | None]] = field(default_factory=list)
    polls: int = 0  # GET .../actions/runs/{id} requests answered
    hidden_for: int = 0  # run-list requests that do not show it yet (GitHub's lag)

    def set_state(self, status: str, conclusion: str | None = None) -> None:
        with self.repo._fake.lock:
            self.status = status
            self.conclusion = conclusion if status == "completed" else None
            self.updated_at = _now()

    def complete(self, conclusion: str = "success") -> None:
        self.set_state("completed", conclusion)

    def add_artifact(
        self,
        name: str,
        data: bytes = b"",
        *,
        expired: bool = False,
        size_in_bytes: int | None = None,
        created_at: datetime | None = None,
        expires_at: datetime | None = None,
        id: int | None = None,
    ) -> FakeArtifact:
        fake = self.repo._fake
        with fake.lock:
            art = FakeArtifact(
                id=id if id is not None else fake._next_id("artifact"),
                name=name,
                data=data,
                run=self,
                expired=expired,
                size_in_bytes=size_in_bytes,
                created_at=created_at or _now(),
                expires_at=expires_at,
            )
            self.artifacts.append(art)
            return art


@dataclass
class FakeDispatch:
    """One accepted ``POST .../dispatches``."""

    workflow: FakeWorkflow = field(repr=False)
    ref: str
    inputs: dict[str, Any]  # as sent
    login: str
    at: datetime = field(default_factory=_now)
    run: FakeRun | None = None  # the run it created (None with ``create_runs=False``)


DispatchHook = Callable[[FakeDispatch], None]


@dataclass
class FakeWorkflow:
    """A workflow file of a repository; see :meth:`FakeRepo.add_workflow`."""

    id: int
    file: str  # "learn-async.yml"
    repo: FakeRepo = field(repr=False)
    name: str = ""
    run_name: str | Callable[[dict[str, Any]], str] | None = None
    inputs: dict[str, dict[str, Any]] | None = None  # workflow_dispatch inputs; None: any
    state: str = "active"  # "active" | "disabled_manually" | ...
    dispatchable: bool = True  # has a workflow_dispatch trigger
    create_runs: bool = True  # a dispatch creates a queued run
    run_appears_after: int = 0  # new runs miss this many run-list requests
    run_states: list[tuple[str, str | None]] = field(default_factory=list)  # for new runs
    dispatches: list[FakeDispatch] = field(default_factory=list)
    created_at: datetime = field(default_factory=_now)
    hooks: list[DispatchHook] = field(default_factory=list, repr=False)

    @property
    def path(self) -> str:
        return f".github/workflows/{self.file}"

    def on_dispatch(self, callback: DispatchHook) -> DispatchHook:
        """Call ``callback(dispatch)`` after each accepted dispatch (and after its run was
        created), under the fake's lock, before the 204 is sent; usable as a decorator."""
        with self.repo._fake.lock:
            self.hooks.append(callback)
        return callback

    def runs(self) -> list[FakeRun]:
        """This workflow's runs, newest first."""
        return _newest_first(r for r in self.repo.runs.values() if r.workflow is self)

    def title(self, inputs: Mapping[str, Any], *, ref: str = "", actor: str = "") -> str:
        """The run's ``display_title`` for a dispatch with these inputs."""
        if callable(self.run_name):
            return str(self.run_name(dict(inputs)))
        if not self.run_name:
            return self.name
        if "${{" not in self.run_name:
            return self.run_name
        from tests.support.workflow_runner import render_template  # only for ${{ }} templates

        event_inputs = {k: _input_str(v) for k, v in inputs.items()}
        github = {
            "event_name": "workflow_dispatch",
            "event": {"inputs": event_inputs, "ref": ref},
            "ref": ref,
            "actor": actor,
            "repository": self.repo.full_name,
            "workflow": self.name,
        }
        return render_template(self.run_name, {"inputs": dict(inputs), "github": github})


def _input_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def _newest_first(runs: Iterable[FakeRun]) -> list[FakeRun]:
    return sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)


@dataclass
class FakeRepo:
    full_name: str
    default_branch: str = "main"
    private: bool = False
    html_url: str = ""
    id: int = 0
    branches: set[str] | None = None  # None: any head/base branch is accepted for new PRs
    git_dir: Path | None = None  # a bare repository backing the branches (merges use it)
    issues: dict[int, FakeIssue] = field(default_factory=dict)
    pulls: dict[int, FakePull] = field(default_factory=dict)
    runs: dict[int, FakeRun] = field(default_factory=dict)
    workflows: dict[str, FakeWorkflow] = field(default_factory=dict)  # file name -> workflow
    _fake: FakeGitHub = field(default=None, repr=False)  # type: ignore[assignment]
    _last_number: int = field(default=0, repr=False)

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]

    def _take_number(self, number: int | None) -> int:
        if number is None:
            self._last_number += 1
            return self._last_number
        if number in self.issues or number in self.pulls:
            raise ValueError(f"#{number} already exists in {self.full_name}")
        self._last_number = max(self._last_number, number)
        return number

    def add_issue(
        self,
        title: str = "An issue",
        body: str | None = "",
        *,
        state: str = "open",
        labels: Iterable[str] = (),
        user: str = "octocat",
        number: int | None = None,
        comments: Iterable[str] = (),
    ) -> FakeIssue:
        fake = self._fake
        with fake.lock:
            n = self._take_number(number)
            issue = FakeIssue(
                number=n,
                title=title,
                body=body,
                state=state,
                user=user,
                labels=list(labels),
                id=fake._next_id("issue"),
            )
            self.issues[n] = issue
            for text in comments:
                issue.comments.append(FakeComment(fake._next_id("comment"), text, user))
            return issue

    def add_pull(
        self,
        head: str,
        *,
        base: str | None = None,
        title: str = "A pull request",
        body: str | None = "",
        draft: bool = False,
        state: str = "open",
        user: str = "octocat",
        number: int | None = None,
    ) -> FakePull:
        """``head`` is ``branch`` or ``owner:branch`` (a fork's branch)."""
        fake = self._fake
        with fake.lock:
            owner, _, ref = head.rpartition(":")
            pr = FakePull(
                number=self._take_number(number),
                title=title,
                body=body,
                state=state,
                user=user,
                head=ref,
                head_owner=owner or self.owner,
                base=base or self.default_branch,
                draft=draft,
                id=fake._next_id("pull"),
            )
            if state == "closed":
                pr.closed_at = _now()
            self.pulls[pr.number] = pr
            return pr

    def add_run(
        self,
        run_id: int,
        *,
        status: str = "completed",
        conclusion: str | None = "success",
        **kw: Any,
    ) -> FakeRun:
        with self._fake.lock:
            kw.setdefault("head_branch", self.default_branch)
            kw.setdefault("head_sha", _sha("run", run_id))
            run = FakeRun(id=run_id, repo=self, status=status, conclusion=conclusion, **kw)
            self.runs[run_id] = run
            return run

    def add_workflow(
        self,
        file: str,
        *,
        name: str | None = None,
        run_name: str | Callable[[dict[str, Any]], str] | None = None,
        inputs: Mapping[str, Mapping[str, Any]] | None = None,
        source: str | Path | None = None,
        state: str = "active",
        dispatchable: bool = True,
        create_runs: bool = True,
        run_appears_after: int = 0,
        run_states: Iterable[tuple[str, str | None]] = (),
        id: int | None = None,
    ) -> FakeWorkflow:
        """A workflow ``.github/workflows/<file>``.

        ``run_name``: the runs' ``display_title`` - a callable ``f(inputs) -> str`` (inputs as
        dispatched, over the declared defaults), a ``run-name`` template with ``${{ }}``
        (``inputs``/``github.event.inputs``/``github.actor``/``github.ref``... evaluated with
        tests.support.workflow_runner), or a fixed string; None: the workflow name.
        ``inputs``: the ``workflow_dispatch`` inputs declaration; when given, a dispatch with an
        undeclared input or without a required one is 422, as on GitHub.
        ``source``: a workflow YAML file to take ``name``, ``run-name`` and ``inputs`` from
        (explicit arguments win). ``create_runs=False``: dispatches are accepted but start
        nothing. ``run_appears_after``: each new run is missing from this many run-list
        requests first. ``run_states``: :attr:`FakeRun.advance_after_polls` of each new run.
        """
        if source is not None:
            from tests.support.workflow_runner import load_workflow, workflow_inputs

            doc = load_workflow(Path(source))
            on = doc.get("on")
            if name is None and doc.get("name"):
                name = str(doc["name"])
            if run_name is None and doc.get("run-name"):
                run_name = str(doc["run-name"])
            if inputs is None:
                inputs = workflow_inputs(doc)
            if isinstance(on, dict):
                dispatchable = dispatchable and "workflow_dispatch" in on
            else:
                names = [on] if isinstance(on, str) else list(on or [])
                dispatchable = dispatchable and "workflow_dispatch" in names
        fake = self._fake
        with fake.lock:
            if file in self.workflows:
                raise ValueError(f"{file} already exists in {self.full_name}")
            wf = FakeWorkflow(
                id=id if id is not None else fake._next_id("workflow"),
                file=file,
                repo=self,
                name=name if name is not None else self.default_workflow_name(file),
                run_name=run_name,
                inputs={k: dict(v) for k, v in inputs.items()} if inputs is not None else None,
                state=state,
                dispatchable=dispatchable,
                create_runs=create_runs,
                run_appears_after=run_appears_after,
                run_states=list(run_states),
            )
            self.workflows[file] = wf
            return wf

    @staticmethod
    def default_workflow_name(file: str) -> str:
        """GitHub names a workflow without ``name:`` by its path."""
        return f".github/workflows/{file}"

    def workflow(self, id_or_file: int | str) -> FakeWorkflow:
        for wf in self.workflows.values():
            if str(wf.id) == str(id_or_file) or wf.file == id_or_file:
                return wf
        raise KeyError(id_or_file)

    # ---- inspection helpers ----------------------------------------------------------------

    @property
    def dispatches(self) -> list[FakeDispatch]:
        """Every accepted dispatch of every workflow, oldest first."""
        return sorted(
            (d for wf in self.workflows.values() for d in wf.dispatches), key=lambda d: d.at
        )

    def issue(self, number: int) -> FakeIssue | FakePull:
        """The issue or PR with that number (PRs are issues too)."""
        return self.issues.get(number) or self.pulls[number]

    def open_pulls(self, head: str | None = None) -> list[FakePull]:
        """Open PRs, optionally only those whose head is ``branch`` or ``owner:branch``."""
        out = [p for p in self.pulls.values() if p.state == "open"]
        if head is not None:
            owner, _, ref = head.rpartition(":")
            out = [p for p in out if p.head == ref and (not owner or p.head_owner == owner)]
        return out

    def artifact(self, artifact_id: int) -> FakeArtifact | None:
        for run in self.runs.values():
            for art in run.artifacts:
                if art.id == artifact_id:
                    return art
        return None


# --------------------------------------------------------------------------------------------
# Faults and the request log
# --------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """One fault rule; see :meth:`FakeGitHub.fail`."""

    method: str | None
    pattern: re.Pattern[str]
    status: int | None = 502
    times: int | None = 1
    body: str | bytes | dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    after: bool = False
    skip: int = 0  # let this many matching requests through before failing
    hits: int = 0  # how many requests it has failed so far

    @property
    def active(self) -> bool:
        return self.times is None or self.hits < self.times

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (None, "*") and self.method.upper() != method:
            return False
        return self.pattern.search(path) is not None


@dataclass
class RecordedRequest:
    """One request as the fake saw it. Unpacks as ``method, path, query, status, body``."""

    index: int
    method: str
    path: str  # as requested, without the query string
    query: dict[str, str]  # last value wins
    body: Any  # parsed JSON when possible, else text; None when empty
    headers: dict[str, str]  # Authorization/Cookie removed
    authorized: bool  # an Authorization header was sent
    login: str | None = None  # owner of the token, when it was valid
    canonical_path: str = ""  # /repositories/<id>/... rewritten to /repos/<owner>/<name>/...
    status: int | None = None  # status answered (None: connection dropped or still running)
    effect_status: int | None = None  # what the real handler answered, when a fault replaced it
    fault: Fault | None = None
    dropped: bool = False
    received_at: float = field(default_factory=time.time)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.path, self.query, self.status, self.body))

    @property
    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")


class _HTTPError(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class _Resp:
    status: int
    body: Any = None  # JSON-able, or bytes (sent as is)
    headers: dict[str, str] = field(default_factory=dict)
    ctype: str = "application/json; charset=utf-8"
    api: bool = True  # carries x-ratelimit-* and GitHub's headers


@dataclass
class _Blob:
    data: bytes
    expires: float
    uses_left: int | None


def _error_body(status: int, message: str | None = None, doc: str = DOCS) -> dict[str, Any]:
    return {
        "message": message if message is not None else _DEFAULT_MESSAGES.get(status, "Error"),
        "documentation_url": doc,
        "status": str(status),
    }


def _validation(*errors: dict[str, Any], doc: str = DOCS) -> _HTTPError:
    body = _error_body(422, "Validation Failed", doc)
    body["errors"] = list(errors)
    return _HTTPError(422, body)


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


_O = r"(?P<owner>[^/]+)"
_R = r"(?P<name>[^/]+)"
_REPO = rf"/repos/{_O}/{_R}"


class FakeGitHub:
    """GitHub REST fake on ``127.0.0.1:<ephemeral port>``. Thread-safe."""

    def __init__(
        self,
        tokens: Iterable[str] | Mapping[str, str] = ("test-token",),
        *,
        page_size: int = 30,
        server_url: str = "https://github.com",
        blob_ttl: float = 60.0,
        blob_max_uses: int | None = 1,
        blob_host: str = "127.0.0.1",
        blob_rejects_auth: bool = False,
        rate_limit: int = 5000,
    ) -> None:
        """
        ``tokens``: valid tokens, or ``{token: login}`` (login defaults to ``octocat``).
        ``page_size``: the default ``per_page`` (GitHub's is 30; max 100 either way).
        ``server_url``: base of the ``html_url`` fields.
        ``blob_ttl`` / ``blob_max_uses``: lifetime and number of downloads of each signed blob
        link handed out by the artifact zip endpoint (GitHub's expire in about a minute).
        ``blob_host``: host name put in blob links. The default keeps them on the fake's own
        host and port, which PyGithub's ``Requester.getStream`` accepts; ``"localhost"`` (same
        server, another host name) mimics GitHub, whose links point at a storage host outside
        PyGithub's allowed domains. ``blob_rejects_auth``: answer 400 when a blob request
        carries an ``Authorization`` header, as the storage host does.
        """
        self.lock = threading.RLock()
        self.tokens: dict[str, str] = {}
        self.integration_tokens: set[str] = set()
        if isinstance(tokens, Mapping):
            self.tokens.update(tokens)
        else:
            self.tokens.update({t: "octocat" for t in tokens})
        self.page_size = max(1, min(100, page_size))
        self.server_url = server_url.rstrip("/")
        self.blob_ttl = blob_ttl
        self.blob_max_uses = blob_max_uses
        self.blob_host = blob_host
        self.blob_rejects_auth = blob_rejects_auth
        self.repos: dict[str, FakeRepo] = {}  # lower-case full name -> repo
        self.faults: list[Fault] = []
        self._blobs: dict[str, _Blob] = {}
        self._ids: dict[str, int] = {}
        self._log: list[RecordedRequest] = []
        self._rl_limit = rate_limit
        self._rl_remaining = rate_limit
        self._rl_reset = int(time.time()) + 3600
        self._rl_override = False
        self.errors: list[BaseException] = []  # handler crashes (answered 500); re-raised on exit
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self.git_root: Path | None = None
        self.git_requests: list[tuple[str, str, int]] = []

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        if self._server is not None:
            return self
        self._stop.clear()
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        server = _Server(("127.0.0.1", 0), handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"FakeGitHub:{server.server_address[1]}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            with self.lock:
                conns = list(self._conns)
            for c in conns:  # wake handler threads blocked on idle keep-alive connections
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.stop()
        if exc_type is None and self.errors:
            raise RuntimeError(f"FakeGitHub handler crashed: {self.errors[0]!r}") from self.errors[
                0
            ]

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeGitHub is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The API root (``GITHUB_API_URL``), e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        """The first valid token."""
        return next(iter(self.tokens))

    def github(self, token: str | None = None, **kw: Any) -> Github:
        """A PyGithub client on this fake, with retries and throttling off (override via kw)."""
        from github import Auth, Github

        kw.setdefault("retry", None)
        kw.setdefault("seconds_between_requests", None)
        kw.setdefault("seconds_between_writes", None)
        kw.setdefault("timeout", 5)
        if "auth" not in kw:
            kw["auth"] = Auth.Token(token if token is not None else self.token)
        return Github(base_url=self.base_url, **kw)

    # ---- setup -----------------------------------------------------------------------------

    def add_token(self, token: str, login: str = "octocat", *, integration: bool = False) -> None:
        """A valid token. ``integration=True``: a ``GITHUB_TOKEN``/App installation token
        (``GET /user`` is then 403 ``Resource not accessible by integration``)."""
        with self.lock:
            self.tokens[token] = login
            if integration:
                self.integration_tokens.add(token)

    def serve_git(self, root: Path) -> None:
        """Serve the bare repositories ``root/<owner>/<name>.git`` over smart HTTP (auth needed)."""
        self.git_root = root

    def git_url(self, full_name: str) -> str:
        """The clone URL of a repository served by :meth:`serve_git`."""
        return f"{self.base_url}/{full_name}.git"

    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        private: bool = False,
        html_url: str | None = None,
        branches: Iterable[str] | None = None,
        git_dir: Path | None = None,
    ) -> FakeRepo:
        if full_name.count("/") != 1:
            raise ValueError(f"not owner/name: {full_name!r}")
        with self.lock:
            repo = FakeRepo(
                full_name=full_name,
                default_branch=default_branch,
                private=private,
                html_url=html_url or f"{self.server_url}/{full_name}",
                id=self._next_id("repo"),
                branches=set(branches) if branches is not None else None,
                git_dir=git_dir,
                _fake=self,
            )
            self.repos[full_name.lower()] = repo
            return repo

    def repo(self, full_name: str) -> FakeRepo:
        return self.repos[full_name.lower()]

    def _next_id(self, kind: str) -> int:
        start = {
            "repo": 700_000_000,
            "issue": 2_800_000_000,
            "pull": 2_200_000_000,
            "comment": 3_600_000_000,
            "artifact": 5_100_000_000,
            "workflow": 161_300_000,
            "run": 21_300_000_000,
        }.get(kind, 1)
        with self.lock:
            n = self._ids.get(kind, start) + 1
            self._ids[kind] = n
            return n

    # ---- rate limit ------------------------------------------------------------------------

    def set_rate_limit_headers(
        self, remaining: int, reset: int | None = None, limit: int | None = None
    ) -> None:
        """Values for the ``x-ratelimit-*`` headers (``remaining`` still counts down per
        request). This does not refuse requests; use :meth:`fail` for a 403/429."""
        with self.lock:
            self._rl_remaining = remaining
            if reset is not None:
                self._rl_reset = int(reset)
            if limit is not None:
                self._rl_limit = limit

    def _rate_headers(self, count: bool) -> dict[str, str]:
        with self.lock:
            if count and self._rl_remaining > 0:
                self._rl_remaining -= 1
            return {
                "x-ratelimit-limit": str(self._rl_limit),
                "x-ratelimit-remaining": str(self._rl_remaining),
                "x-ratelimit-reset": str(self._rl_reset),
                "x-ratelimit-used": str(max(0, self._rl_limit - self._rl_remaining)),
                "x-ratelimit-resource": "core",
            }

    def _rate_json(self) -> dict[str, Any]:
        with self.lock:
            core = {
                "limit": self._rl_limit,
                "remaining": self._rl_remaining,
                "reset": self._rl_reset,
                "used": max(0, self._rl_limit - self._rl_remaining),
                "resource": "core",
            }
        other = {"limit": 30, "remaining": 30, "reset": core["reset"], "used": 0}
        return {
            "resources": {
                "core": core,
                "search": dict(other, resource="search"),
                "graphql": dict(core, limit=5000, remaining=5000, used=0, resource="graphql"),
                "integration_manifest": dict(
                    other, limit=5000, remaining=5000, resource="integration_manifest"
                ),
            },
            "rate": core,
        }

    # ---- faults ----------------------------------------------------------------------------

    def fail(
        self,
        method: str | None,
        path_regex: str,
        status: int | None = 502,
        times: int | None = 1,
        body: str | bytes | dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        drop: bool = False,
        after: bool = False,
        skip: int = 0,
    ) -> Fault:
        """Make the next ``times`` requests (``None``: all) whose method is ``method``
        (``None``/``"*"``: any) and whose path matches ``path_regex`` (``re.search`` on the
        path without query, ``/repositories/<id>`` already rewritten to ``/repos/o/r``) fail.

        ``status``/``body``/``headers``: the answer; ``body`` is a message (wrapped as
        ``{"message": ...}``), a full JSON dict, or raw bytes (sent as ``text/html``);
        ``status=None`` answers normally (only ``delay``/``drop`` apply).
        ``delay``: seconds to wait before answering (client timeouts).
        ``drop``: close the connection without any response.
        ``after``: apply the request's effect first (create the comment/PR, edit the body...)
        and only then fail/delay/drop - the write happened but the response was lost.
        ``skip``: let that many matching requests through first (fail the n-th occurrence).
        Rules are tried in order; the first active match is used.
        """
        fault = Fault(
            method=method,
            pattern=re.compile(path_regex),
            status=status,
            times=times,
            body=body,
            headers={k.lower(): str(v) for k, v in (headers or {}).items()},
            delay=delay,
            drop=drop,
            after=after,
            skip=skip,
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def fail_secondary_rate_limit(
        self,
        method: str | None,
        path_regex: str,
        *,
        retry_after: int = 1,
        times: int | None = 1,
        status: int = 403,
        after: bool = False,
    ) -> Fault:
        """GitHub's secondary rate limit: 403 (or 429) with ``retry-after``."""
        return self.fail(
            method,
            path_regex,
            status,
            times,
            SECONDARY_RATE_LIMIT_MESSAGE,
            {"retry-after": str(retry_after)},
            after=after,
        )

    def fail_primary_rate_limit(
        self,
        method: str | None,
        path_regex: str,
        *,
        reset: int | None = None,
        times: int | None = 1,
        status: int = 403,
    ) -> Fault:
        """GitHub's primary rate limit: 403/429, ``x-ratelimit-remaining: 0`` and the reset
        epoch (default: in 60 s)."""
        reset = int(time.time()) + 60 if reset is None else int(reset)
        headers = {
            "x-ratelimit-limit": str(self._rl_limit),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": str(self._rl_limit),
            "x-ratelimit-reset": str(reset),
        }
        return self.fail(method, path_regex, status, times, PRIMARY_RATE_LIMIT_MESSAGE, headers)

    def forbid_pull_request_creation(self, times: int | None = None) -> Fault:
        """The repository setting "Allow GitHub Actions to create and approve pull requests"
        is off: ``POST .../pulls`` is 403."""
        return self.fail(
            "POST",
            r"^/repos/[^/]+/[^/]+/pulls$",
            403,
            times,
            {
                "message": PR_CREATION_FORBIDDEN_MESSAGE,
                "documentation_url": f"{DOCS}/pulls/pulls#create-a-pull-request",
                "status": "403",
            },
        )

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.active and f.matches(method, path):
                    if f.skip > 0:
                        f.skip -= 1
                        continue
                    f.hits += 1
                    return f
        return None

    def _fault_response(self, fault: Fault) -> _Resp:
        assert fault.status is not None
        headers = dict(fault.headers)
        if isinstance(fault.body, bytes):
            return _Resp(fault.status, fault.body, headers, "text/html; charset=utf-8")
        if isinstance(fault.body, dict):
            return _Resp(fault.status, fault.body, headers)
        return _Resp(fault.status, _error_body(fault.status, fault.body), headers)

    # ---- log -------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.lock:
            return list(self._log)

    def count(
        self, method: str | None = None, path_regex: str | None = None, status: int | None = None
    ) -> int:
        """Requests with that method and status whose (canonical or raw) path matches."""
        return len(self.find(method, path_regex, status))

    def find(
        self, method: str | None = None, path_regex: str | None = None, status: int | None = None
    ) -> list[RecordedRequest]:
        pat = re.compile(path_regex) if path_regex is not None else None
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (status is None or r.status == status)
            and (pat is None or pat.search(r.canonical_path) or pat.search(r.path))
        ]

    def writes(self) -> list[RecordedRequest]:
        """Non-GET requests, in order."""
        return [r for r in self.requests if r.is_write]

    def clear_log(self) -> None:
        with self.lock:
            self._log.clear()

    def _record(self, rec: RecordedRequest) -> None:
        with self.lock:
            rec.index = len(self._log)
            self._log.append(rec)

    # ---- helpers for handlers --------------------------------------------------------------

    def _login_for(self, auth: str | None) -> str | None:
        """The login owning the token in an Authorization header value, or None."""
        tok = _token_of(auth)
        with self.lock:
            return self.tokens.get(tok) if tok is not None else None

    def _canonical(self, path: str) -> str:
        m = re.match(r"^/repositories/(\d+)(/.*)?$", path)
        if not m:
            return path
        with self.lock:
            for repo in self.repos.values():
                if repo.id == int(m.group(1)):
                    return f"/repos/{repo.full_name}{m.group(2) or ''}"
        return path

    def _mint_blob(self, data: bytes) -> str:
        tok = secrets.token_urlsafe(24)
        expires = time.time() + self.blob_ttl
        with self.lock:
            self._blobs[tok] = _Blob(data, expires, self.blob_max_uses)
        sig = secrets.token_urlsafe(32)
        return f"http://{self.blob_host}:{self.port}/_blobs/{tok}?" + urlencode(
            {"expires": int(expires), "sig": sig}
        )


def _token_of(auth: str | None) -> str | None:
    if not auth:
        return None
    scheme, _, value = auth.strip().partition(" ")
    scheme = scheme.lower()
    if scheme in ("token", "bearer"):
        return value.strip()
    if scheme == "basic":
        try:
            user, _, pw = base64.b64decode(value.strip()).decode().partition(":")
        except ValueError:
            return None
        return pw or user
    return None


# --------------------------------------------------------------------------------------------
# JSON renderings
# --------------------------------------------------------------------------------------------


class _Render:
    def __init__(self, fake: FakeGitHub):
        self.fake = fake
        self.api = fake.base_url

    def user(self, login: str) -> dict[str, Any]:
        uid = _num_id("user", login)
        return {
            "login": login,
            "id": uid,
            "node_id": _node_id("U", uid),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "gravatar_id": "",
            "url": f"{self.api}/users/{login}",
            "html_url": f"{self.fake.server_url}/{login}",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "site_admin": False,
        }

    def repo(self, r: FakeRepo) -> dict[str, Any]:
        u = f"{self.api}/repos/{r.full_name}"
        return {
            "id": r.id,
            "node_id": _node_id("R", r.id),
            "name": r.name,
            "full_name": r.full_name,
            "private": r.private,
            "owner": dict(self.user(r.owner), type="Organization"),
            "html_url": r.html_url,
            "description": None,
            "fork": False,
            "url": u,
            "issues_url": f"{u}/issues{{/number}}",
            "pulls_url": f"{u}/pulls{{/number}}",
            "issue_comment_url": f"{u}/issues/comments{{/number}}",
            "git_url": f"git://github.com/{r.full_name}.git",
            "clone_url": f"{r.html_url}.git",
            "ssh_url": f"git@github.com:{r.full_name}.git",
            "default_branch": r.default_branch,
            "visibility": "private" if r.private else "public",
            "archived": False,
            "disabled": False,
            "has_issues": True,
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "pushed_at": "2026-01-01T00:00:00Z",
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": True,
                "triage": True,
                "pull": True,
            },
        }

    def label(self, r: FakeRepo, name: str) -> dict[str, Any]:
        lid = _num_id("label", r.full_name, name)
        return {
            "id": lid,
            "node_id": _node_id("LA", lid),
            "url": f"{self.api}/repos/{r.full_name}/labels/{name}",
            "name": name,
            "color": _sha(name)[:6],
            "default": False,
            "description": None,
        }

    def issue(self, r: FakeRepo, i: FakeIssue | FakePull) -> dict[str, Any]:
        u = f"{self.api}/repos/{r.full_name}/issues/{i.number}"
        is_pr = isinstance(i, FakePull)
        html = i.html_url or f"{r.html_url}/{'pull' if is_pr else 'issues'}/{i.number}"
        out: dict[str, Any] = {
            "url": u,
            "repository_url": f"{self.api}/repos/{r.full_name}",
            "labels_url": f"{u}/labels{{/name}}",
            "comments_url": f"{u}/comments",
            "events_url": f"{u}/events",
            "html_url": html,
            "id": i.id,
            "node_id": _node_id("I", i.id),
            "number": i.number,
            "title": i.title,
            "user": self.user(i.user),
            "labels": [self.label(r, n) for n in i.labels],
            "state": i.state,
            "state_reason": getattr(i, "state_reason", None),
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": len(i.comments),
            "created_at": _iso(i.created_at),
            "updated_at": _iso(i.updated_at or i.created_at),
            "closed_at": _iso(i.closed_at) if i.closed_at else None,
            "author_association": "MEMBER",
            "body": i.body,
            "reactions": {"url": f"{u}/reactions", "total_count": 0},
        }
        if is_pr:
            assert isinstance(i, FakePull)
            out["draft"] = i.draft
            out["pull_request"] = {
                "url": f"{self.api}/repos/{r.full_name}/pulls/{i.number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": None,
            }
        return out

    def comment(self, r: FakeRepo, number: int, c: FakeComment) -> dict[str, Any]:
        parent = r.issues.get(number) or r.pulls.get(number)
        kind = "pull" if isinstance(parent, FakePull) else "issues"
        return {
            "url": f"{self.api}/repos/{r.full_name}/issues/comments/{c.id}",
            "html_url": f"{r.html_url}/{kind}/{number}#issuecomment-{c.id}",
            "issue_url": f"{self.api}/repos/{r.full_name}/issues/{number}",
            "id": c.id,
            "node_id": _node_id("IC", c.id),
            "user": self.user(c.user),
            "created_at": _iso(c.created_at),
            "updated_at": _iso(c.updated_at or c.created_at),
            "author_association": "MEMBER",
            "body": c.body,
            "reactions": {
                "url": f"{self.api}/repos/{r.full_name}/issues/comments/{c.id}/reactions",
                "total_count": 0,
            },
        }

    def _part(self, r: FakeRepo, owner: str, ref: str) -> dict[str, Any]:
        if owner.lower() == r.owner.lower():
            repo = self.repo(r)
        else:  # a fork
            fork = FakeRepo(
                f"{owner}/{r.name}",
                html_url=f"{self.fake.server_url}/{owner}/{r.name}",
                id=_num_id("fork", owner, r.name),
            )
            repo = dict(self.repo(fork), fork=True)
        real = _git_rev(r, ref) if owner.lower() == r.owner.lower() else None
        return {
            "label": f"{owner}:{ref}",
            "ref": ref,
            "sha": real or _sha(owner, r.name, ref),
            "user": self.user(owner),
            "repo": repo,
        }

    def pull(self, r: FakeRepo, p: FakePull) -> dict[str, Any]:
        u = f"{self.api}/repos/{r.full_name}/pulls/{p.number}"
        iu = f"{self.api}/repos/{r.full_name}/issues/{p.number}"
        html = p.html_url or f"{r.html_url}/pull/{p.number}"
        return {
            "url": u,
            "id": p.id,
            "node_id": _node_id("PR", p.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": iu,
            "commits_url": f"{u}/commits",
            "review_comments_url": f"{u}/comments",
            "comments_url": f"{iu}/comments",
            "statuses_url": f"{self.api}/repos/{r.full_name}/statuses/{_sha(p.head_owner, p.head)}",
            "number": p.number,
            "state": p.state,
            "locked": False,
            "title": p.title,
            "user": self.user(p.user),
            "body": p.body,
            "labels": [self.label(r, n) for n in p.labels],
            "milestone": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "created_at": _iso(p.created_at),
            "updated_at": _iso(p.updated_at or p.created_at),
            "closed_at": _iso(p.closed_at) if p.closed_at else None,
            "merged_at": _iso(p.closed_at) if p.merged and p.closed_at else None,
            "merge_commit_sha": p.merge_commit_sha,
            "draft": p.draft,
            "head": self._part(r, p.head_owner, p.head),
            "base": self._part(r, r.owner, p.base),
            "author_association": "MEMBER",
            "auto_merge": None,
            "merged": p.merged,
            "mergeable": None,
            "mergeable_state": "draft" if p.draft else "unknown",
            "merged_by": None,
            "comments": len(p.comments),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": 0,
            "deletions": 0,
            "changed_files": 0,
        }

    def run(self, r: FakeRepo, run: FakeRun) -> dict[str, Any]:
        u = f"{self.api}/repos/{r.full_name}/actions/runs/{run.id}"
        mini = {
            k: v
            for k, v in self.repo(r).items()
            if k in ("id", "node_id", "name", "full_name", "private", "owner", "html_url", "url")
        }
        wf_id = run.workflow.id if run.workflow else _num_id("workflow", r.full_name, run.name)
        return {
            "id": run.id,
            "name": run.name,
            "node_id": _node_id("WFR", run.id),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": run.workflow.path if run.workflow else ".github/workflows/ci.yml",
            "display_title": run.display_title if run.display_title is not None else run.name,
            "run_number": run.run_number,
            "run_attempt": run.run_attempt,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": wf_id,
            "check_suite_id": _num_id("suite", run.id),
            "url": u,
            "html_url": run.html_url or f"{r.html_url}/actions/runs/{run.id}",
            "pull_requests": [],
            "created_at": _iso(run.created_at),
            "updated_at": _iso(run.updated_at or run.created_at),
            "run_started_at": _iso(run.created_at),
            "actor": self.user(run.actor),
            "triggering_actor": self.user(run.actor),
            "jobs_url": f"{u}/jobs",
            "logs_url": f"{u}/logs",
            "check_suite_url": f"{self.api}/repos/{r.full_name}/check-suites/{_num_id('suite', run.id)}",
            "artifacts_url": f"{u}/artifacts",
            "cancel_url": f"{u}/cancel",
            "rerun_url": f"{u}/rerun",
            "previous_attempt_url": None,
            "workflow_url": f"{self.api}/repos/{r.full_name}/actions/workflows/{wf_id}",
            "repository": mini,
            "head_repository": mini,
        }

    def workflow(self, r: FakeRepo, wf: FakeWorkflow) -> dict[str, Any]:
        return {
            "id": wf.id,
            "node_id": _node_id("W", wf.id),
            "name": wf.name,
            "path": wf.path,
            "state": wf.state,
            "created_at": _iso(wf.created_at),
            "updated_at": _iso(wf.created_at),
            "url": f"{self.api}/repos/{r.full_name}/actions/workflows/{wf.id}",
            "html_url": f"{r.html_url}/blob/{r.default_branch}/{wf.path}",
            "badge_url": f"{r.html_url}/workflows/{wf.file}/badge.svg",
        }

    def artifact(self, r: FakeRepo, a: FakeArtifact) -> dict[str, Any]:
        u = f"{self.api}/repos/{r.full_name}/actions/artifacts/{a.id}"
        expires = a.expires_at or (a.created_at + timedelta(days=90))
        return {
            "id": a.id,
            "node_id": _node_id("MDg6QXJ0aWZhY3Q", a.id),
            "name": a.name,
            "size_in_bytes": a.size,
            "url": u,
            "archive_download_url": f"{u}/zip",
            "expired": a.expired,
            "digest": "sha256:" + hashlib.sha256(a.data).hexdigest(),
            "created_at": _iso(a.created_at),
            "updated_at": _iso(a.created_at),
            "expires_at": _iso(expires),
            "workflow_run": {
                "id": a.run.id,
                "repository_id": r.id,
                "head_repository_id": r.id,
                "head_branch": a.run.head_branch,
                "head_sha": a.run.head_sha,
            },
        }


# --------------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    fake: FakeGitHub
    method: str
    path: str  # canonical
    query: dict[str, str]
    body: Any
    login: str | None
    token: str | None
    authorized: bool
    params: dict[str, str]
    render: _Render

    def repo(self) -> FakeRepo:
        key = f"{self.params['owner']}/{self.params['name']}".lower()
        repo = self.fake.repos.get(key)
        if repo is None:
            raise _HTTPError(404, _error_body(404, doc=f"{DOCS}/repos/repos#get-a-repository"))
        return repo

    def json_body(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise _HTTPError(400, _error_body(400, "Problems parsing JSON"))
        return self.body

    def paginate(self, items: list[Any], envelope: str | None = None) -> _Resp:
        fake = self.fake
        try:
            per_page = int(self.query.get("per_page", fake.page_size))
        except ValueError:
            per_page = fake.page_size
        per_page = max(1, min(100, per_page))
        try:
            page = max(1, int(self.query.get("page", 1)))
        except ValueError:
            page = 1
        total = len(items)
        last = max(1, math.ceil(total / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        # GitHub's Link URLs use the /repositories/<id>/ form of repository paths
        path = self.path
        m = re.match(rf"^{_REPO}(/.*)?$", path)
        if m:
            repo = fake.repos.get(f"{m.group('owner')}/{m.group('name')}".lower())
            if repo is not None:
                path = f"/repositories/{repo.id}{m.group(3) or ''}"

        def link(p: int, rel: str) -> str:
            q = dict(self.query, page=str(p))
            return f'<{fake.base_url}{path}?{urlencode(q)}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(min(page - 1, last), "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        headers = {"link": ", ".join(links)} if links else {}
        body: Any = chunk if envelope is None else {"total_count": total, envelope: chunk}
        return _Resp(200, body, headers)


def _r_rate_limit(c: _Ctx) -> _Resp:
    return _Resp(200, c.fake._rate_json())


def _r_user(c: _Ctx) -> _Resp:
    if c.token in c.fake.integration_tokens:
        raise _HTTPError(
            403,
            _error_body(
                403,
                "Resource not accessible by integration",
                f"{DOCS}/users/users#get-the-authenticated-user",
            ),
        )
    assert c.login is not None
    return _Resp(200, dict(c.render.user(c.login), name=c.login, email=None))


def _r_repo(c: _Ctx) -> _Resp:
    return _Resp(200, c.render.repo(c.repo()))


def _find_issue(repo: FakeRepo, number: str) -> FakeIssue | FakePull:
    i = repo.issues.get(int(number)) or repo.pulls.get(int(number))
    if i is None:
        raise _HTTPError(404, _error_body(404, doc=f"{DOCS}/issues/issues#get-an-issue"))
    return i


def _find_comment(repo: FakeRepo, cid: str) -> tuple[int, FakeComment]:
    for coll in (repo.issues, repo.pulls):
        for n, i in coll.items():
            for com in i.comments:
                if com.id == int(cid):
                    return n, com
    raise _HTTPError(404, _error_body(404, doc=f"{DOCS}/issues/comments#get-an-issue-comment"))


def _by_created(items: list[Any], direction: str) -> list[Any]:
    return sorted(items, key=lambda i: (i.created_at, i.number), reverse=direction != "asc")


def _r_list_issues(c: _Ctx) -> _Resp:
    repo = c.repo()
    state = c.query.get("state", "open")
    items: list[FakeIssue | FakePull] = [*repo.issues.values(), *repo.pulls.values()]
    if state != "all":
        items = [i for i in items if i.state == state]
    wanted = [x.strip() for x in c.query.get("labels", "").split(",") if x.strip()]
    items = [i for i in items if all(w in i.labels for w in wanted)]
    items = _by_created(items, c.query.get("direction", "desc"))
    return c.paginate([c.render.issue(repo, i) for i in items])


def _r_get_issue(c: _Ctx) -> _Resp:
    repo = c.repo()
    return _Resp(200, c.render.issue(repo, _find_issue(repo, c.params["number"])))


def _r_patch_issue(c: _Ctx) -> _Resp:
    repo = c.repo()
    issue = _find_issue(repo, c.params["number"])
    data = c.json_body()
    if "state" in data and data["state"] not in ("open", "closed"):
        raise _validation({"resource": "Issue", "field": "state", "code": "invalid"})
    if "title" in data:
        if not isinstance(data["title"], str) or not data["title"]:
            raise _validation({"resource": "Issue", "field": "title", "code": "missing_field"})
        issue.title = data["title"]
    if "body" in data:
        issue.body = data["body"]
    if "state" in data:
        issue._set_state(data["state"])
    if "state_reason" in data and isinstance(issue, FakeIssue):
        issue.state_reason = data["state_reason"]
    if "labels" in data:
        issue.labels = [x["name"] if isinstance(x, dict) else str(x) for x in data["labels"] or []]
    issue.updated_at = _now()
    return _Resp(200, c.render.issue(repo, issue))


def _r_list_comments(c: _Ctx) -> _Resp:
    repo = c.repo()
    issue = _find_issue(repo, c.params["number"])
    return c.paginate([c.render.comment(repo, issue.number, x) for x in issue.comments])


def _check_comment_body(data: dict[str, Any]) -> str:
    body = data.get("body")
    if not isinstance(body, str):
        raise _HTTPError(
            422,
            _error_body(
                422,
                "Invalid request.\n\nFor 'properties/body', nil is not a string.",
                f"{DOCS}/issues/comments#create-an-issue-comment",
            ),
        )
    if not body.strip():
        raise _validation({"resource": "IssueComment", "code": "missing_field", "field": "body"})
    return body


def _r_create_comment(c: _Ctx) -> _Resp:
    repo = c.repo()
    issue = _find_issue(repo, c.params["number"])
    body = _check_comment_body(c.json_body())
    assert c.login is not None
    com = FakeComment(c.fake._next_id("comment"), body, c.login)
    issue.comments.append(com)
    issue.updated_at = _now()
    out = c.render.comment(repo, issue.number, com)
    return _Resp(201, out, {"location": out["url"]})


def _r_get_comment(c: _Ctx) -> _Resp:
    repo = c.repo()
    n, com = _find_comment(repo, c.params["cid"])
    return _Resp(200, c.render.comment(repo, n, com))


def _r_patch_comment(c: _Ctx) -> _Resp:
    repo = c.repo()
    n, com = _find_comment(repo, c.params["cid"])
    com.body = _check_comment_body(c.json_body())
    com.updated_at = _now()
    return _Resp(200, c.render.comment(repo, n, com))


def _r_delete_comment(c: _Ctx) -> _Resp:
    repo = c.repo()
    n, com = _find_comment(repo, c.params["cid"])
    repo.issue(n).comments.remove(com)
    return _Resp(204, None)


def _r_list_pulls(c: _Ctx) -> _Resp:
    repo = c.repo()
    state = c.query.get("state", "open")
    items = list(repo.pulls.values())
    if state != "all":
        items = [p for p in items if p.state == state]
    head = c.query.get("head")
    if head and ":" in head:  # like GitHub, a head without "owner:" filters nothing
        owner, _, ref = head.partition(":")
        items = [p for p in items if p.head_owner.lower() == owner.lower() and p.head == ref]
    if c.query.get("base"):
        items = [p for p in items if p.base == c.query["base"]]
    items = _by_created(items, c.query.get("direction", "desc"))
    return c.paginate([c.render.pull(repo, p) for p in items])


def _r_create_pull(c: _Ctx) -> _Resp:
    repo = c.repo()
    data = c.json_body()
    for fld in ("head", "base", "title"):
        if fld == "title" and "issue" in data:
            continue
        if not isinstance(data.get(fld), str) or not data[fld]:
            raise _validation({"resource": "PullRequest", "field": fld, "code": "missing_field"})
    owner, _, ref = data["head"].rpartition(":")
    owner = owner or repo.owner
    base = data["base"]
    if repo.branches is not None:
        if base not in repo.branches:
            raise _validation({"resource": "PullRequest", "field": "base", "code": "invalid"})
        if owner.lower() == repo.owner.lower() and ref not in repo.branches:
            raise _validation({"resource": "PullRequest", "field": "head", "code": "invalid"})
    if owner.lower() == repo.owner.lower() and ref == base:
        raise _validation(
            {
                "resource": "PullRequest",
                "code": "custom",
                "message": f"No commits between {base} and {ref}",
            }
        )
    for p in repo.pulls.values():
        if (
            p.state == "open"
            and p.head == ref
            and p.base == base
            and p.head_owner.lower() == owner.lower()
        ):
            raise _validation(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {owner}:{ref}.",
                },
                doc=f"{DOCS}/pulls/pulls#create-a-pull-request",
            )
    assert c.login is not None
    pr = repo.add_pull(
        f"{owner}:{ref}",
        base=base,
        title=data.get("title") or "",
        body=data.get("body"),
        draft=bool(data.get("draft", False)),
        user=c.login,
    )
    out = c.render.pull(repo, pr)
    return _Resp(201, out, {"location": out["url"]})


def _find_pull(repo: FakeRepo, number: str) -> FakePull:
    p = repo.pulls.get(int(number))
    if p is None:
        raise _HTTPError(404, _error_body(404, doc=f"{DOCS}/pulls/pulls#get-a-pull-request"))
    return p


def _r_get_pull(c: _Ctx) -> _Resp:
    repo = c.repo()
    return _Resp(200, c.render.pull(repo, _find_pull(repo, c.params["number"])))


def _r_patch_pull(c: _Ctx) -> _Resp:
    repo = c.repo()
    p = _find_pull(repo, c.params["number"])
    data = c.json_body()
    if "state" in data and data["state"] not in ("open", "closed"):
        raise _validation({"resource": "PullRequest", "field": "state", "code": "invalid"})
    if "title" in data:
        p.title = data["title"]
    if "body" in data:
        p.body = data["body"]
    if "base" in data:
        p.base = data["base"]
    if "state" in data:
        p._set_state(data["state"])
    p.updated_at = _now()
    return _Resp(200, c.render.pull(repo, p))


_GITHUB_ENV = {
    "GIT_AUTHOR_NAME": "GitHub",
    "GIT_AUTHOR_EMAIL": "noreply@github.com",
    "GIT_COMMITTER_NAME": "GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(repo: FakeRepo, *args: str) -> subprocess.CompletedProcess[str]:
    assert repo.git_dir is not None
    return subprocess.run(
        ["git", *args],
        cwd=repo.git_dir,
        capture_output=True,
        text=True,
        env={**os.environ, **_GITHUB_ENV},
        check=False,
    )


def _git_rev(repo: FakeRepo, ref: str) -> str | None:
    if repo.git_dir is None:
        return None
    done = _git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{ref}^{{commit}}")
    return done.stdout.strip() or None


def _not_mergeable(message: str, status: int = 405) -> _HTTPError:
    return _HTTPError(
        status, _error_body(status, message, f"{DOCS}/pulls/pulls#merge-a-pull-request")
    )


def _r_merge_pull(c: _Ctx) -> _Resp:
    repo = c.repo()
    p = _find_pull(repo, c.params["number"])
    data = c.json_body() if c.body is not None else {}
    method = data.get("merge_method", "merge")
    if method not in ("merge", "squash"):
        raise _validation({"resource": "PullRequest", "field": "merge_method", "code": "invalid"})
    if p.merged or p.state != "open":
        raise _not_mergeable("Pull Request is not mergeable")
    if p.draft:
        raise _not_mergeable("Pull Request is still a draft")
    title = data.get("commit_title") or f"Merge pull request #{p.number} from {p.head_label}"
    message = f"{title}\n\n{data.get('commit_message') or p.title}\n"
    sha: str | None = None
    if repo.git_dir is not None:
        head, base = _git_rev(repo, p.head), _git_rev(repo, p.base)
        if head is None or base is None:
            raise _not_mergeable("Pull Request is not mergeable")
        if data.get("sha") and data["sha"] != head:
            raise _not_mergeable("Head branch was modified. Review and try the merge again.", 409)
        tree = _git(repo, "merge-tree", "--write-tree", "--no-messages", base, head)
        if tree.returncode != 0:
            raise _not_mergeable("Pull Request is not mergeable")
        parents = ["-p", base] + (["-p", head] if method == "merge" else [])
        made = _git(repo, "commit-tree", tree.stdout.split()[0], *parents, "-m", message)
        sha = made.stdout.strip()
        moved = _git(repo, "update-ref", f"refs/heads/{p.base}", sha, base)
        if made.returncode != 0 or moved.returncode != 0:
            raise _not_mergeable("Base branch was modified. Review and try the merge again.", 409)
    p.merged, p.merge_commit_sha = True, sha or _sha("merge", p.number)
    p._set_state("closed")
    p.updated_at = _now()
    body = {
        "sha": p.merge_commit_sha,
        "merged": True,
        "message": "Pull Request successfully merged",
    }
    return _Resp(200, body)


def _find_run(repo: FakeRepo, run_id: str) -> FakeRun:
    run = repo.runs.get(int(run_id))
    if run is None:
        raise _HTTPError(
            404, _error_body(404, doc=f"{DOCS}/actions/workflow-runs#get-a-workflow-run")
        )
    return run


def _r_get_run(c: _Ctx) -> _Resp:
    repo = c.repo()
    run = _find_run(repo, c.params["run_id"])
    out = c.render.run(repo, run)
    run.polls += 1
    if run.advance_after_polls:
        run.set_state(*run.advance_after_polls.pop(0))
    return _Resp(200, out)


_RUN_STATUSES = {"queued", "in_progress", "completed", "requested", "waiting", "pending"}


def _parse_when(text: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a date (the whole day) or a timestamp (that second)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            start = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return start, start + timedelta(days=1)
        t = datetime.fromisoformat(text)
    except ValueError:
        raise _validation(
            {"resource": "WorkflowRun", "field": "created", "code": "invalid", "value": text},
            doc=f"{DOCS}/actions/workflow-runs#list-workflow-runs-for-a-repository",
        ) from None
    t = (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)
    return t, t + timedelta(seconds=1)


def _created_matches(expr: str, t: datetime) -> bool:
    """GitHub's search date syntax: ``>=X``, ``>X``, ``<=X``, ``<X``, ``X..Y`` (``*`` open),
    or ``X`` (that day / that second)."""
    if ".." in expr:
        lo, _, hi = expr.partition("..")
        return (lo.strip() == "*" or t >= _parse_when(lo)[0]) and (
            hi.strip() == "*" or t < _parse_when(hi)[1]
        )
    for op in (">=", "<=", ">", "<"):
        if expr.startswith(op):
            start, end = _parse_when(expr[len(op) :])
            return {">=": t >= start, ">": t >= end, "<=": t < end, "<": t < start}[op]
    start, end = _parse_when(expr)
    return start <= t < end


def _run_list(c: _Ctx, repo: FakeRepo, runs: Iterable[FakeRun]) -> _Resp:
    q = c.query
    shown: list[FakeRun] = []
    for run in runs:
        if run.hidden_for > 0:  # created, but not listed yet
            run.hidden_for -= 1
            continue
        shown.append(run)
    if q.get("event"):
        shown = [r for r in shown if r.event == q["event"]]
    if q.get("branch"):
        shown = [r for r in shown if r.head_branch == q["branch"]]
    if q.get("actor"):
        shown = [r for r in shown if r.actor.lower() == q["actor"].lower()]
    if q.get("head_sha"):
        shown = [r for r in shown if r.head_sha == q["head_sha"]]
    if q.get("status"):
        st = q["status"]
        if st in _RUN_STATUSES:
            shown = [r for r in shown if r.status == st]
        else:  # a conclusion: success, failure, cancelled, ...
            shown = [r for r in shown if r.conclusion == st]
    if q.get("created"):
        shown = [r for r in shown if _created_matches(q["created"], r.created_at)]
    return c.paginate([c.render.run(repo, r) for r in _newest_first(shown)], "workflow_runs")


def _r_repo_runs(c: _Ctx) -> _Resp:
    repo = c.repo()
    return _run_list(c, repo, list(repo.runs.values()))


def _find_workflow(repo: FakeRepo, id_or_file: str) -> FakeWorkflow:
    try:
        return repo.workflow(id_or_file)
    except KeyError:
        raise _HTTPError(
            404, _error_body(404, doc=f"{DOCS}/actions/workflows#get-a-workflow")
        ) from None


def _r_list_workflows(c: _Ctx) -> _Resp:
    repo = c.repo()
    wfs = sorted(repo.workflows.values(), key=lambda w: w.id)
    return c.paginate([c.render.workflow(repo, w) for w in wfs], "workflows")


def _r_get_workflow(c: _Ctx) -> _Resp:
    repo = c.repo()
    return _Resp(200, c.render.workflow(repo, _find_workflow(repo, c.params["wf"])))


def _r_workflow_runs(c: _Ctx) -> _Resp:
    repo = c.repo()
    wf = _find_workflow(repo, c.params["wf"])
    return _run_list(c, repo, [r for r in repo.runs.values() if r.workflow is wf])


def _dispatch_error(message: str) -> _HTTPError:
    return _HTTPError(
        422,
        _error_body(422, message, f"{DOCS}/actions/workflows#create-a-workflow-dispatch-event"),
    )


def _r_dispatch(c: _Ctx) -> _Resp:
    repo = c.repo()
    wf = _find_workflow(repo, c.params["wf"])
    data = c.json_body()
    ref = data.get("ref")
    if not isinstance(ref, str) or not ref:
        raise _dispatch_error('Invalid request.\n\n"ref" wasn\'t supplied.')
    inputs = data.get("inputs") if data.get("inputs") is not None else {}
    if not isinstance(inputs, dict):
        raise _dispatch_error(
            f"Invalid request.\n\nFor 'properties/inputs', {json.dumps(inputs)} is not an object."
        )
    if not wf.dispatchable:
        raise _dispatch_error("Workflow does not have 'workflow_dispatch' trigger")
    if wf.state != "active":
        raise _dispatch_error("Cannot trigger a 'workflow_dispatch' on a disabled workflow")
    branch = ref.removeprefix("refs/heads/")
    if repo.branches is not None and branch not in repo.branches:
        raise _dispatch_error(f"No ref found for: {ref}")
    effective = dict(inputs)
    if wf.inputs is not None:
        unexpected = sorted(set(inputs) - set(wf.inputs))
        if unexpected:
            raise _dispatch_error(f"Unexpected inputs provided: {json.dumps(unexpected)}")
        for key, spec in wf.inputs.items():
            if key not in inputs or inputs[key] in (None, ""):
                if spec.get("required") and spec.get("default") in (None, ""):
                    raise _dispatch_error(f"Required input '{key}' not provided")
                if "default" in spec and key not in inputs:
                    effective[key] = spec["default"]
    assert c.login is not None
    dispatch = FakeDispatch(workflow=wf, ref=ref, inputs=dict(inputs), login=c.login)
    if wf.create_runs:
        dispatch.run = repo.add_run(
            c.fake._next_id("run"),
            status="queued",
            conclusion=None,
            name=wf.name,
            display_title=wf.title(effective, ref=ref, actor=c.login),
            head_branch=branch,
            event="workflow_dispatch",
            workflow=wf,
            actor=c.login,
            inputs=effective,
            run_number=len(wf.runs()) + 1,
            hidden_for=wf.run_appears_after,
            advance_after_polls=list(wf.run_states),
        )
    wf.dispatches.append(dispatch)
    for hook in list(wf.hooks):
        hook(dispatch)
    run = dispatch.run
    if data.get("return_run_details") and run is not None:
        return _Resp(
            200,
            {
                "workflow_run_id": run.id,
                "run_url": f"{c.fake.base_url}/repos/{repo.full_name}/actions/runs/{run.id}",
                "html_url": run.html_url or f"{repo.html_url}/actions/runs/{run.id}",
            },
        )
    return _Resp(204, None)


def _artifact_list(c: _Ctx, repo: FakeRepo, arts: list[FakeArtifact]) -> _Resp:
    if c.query.get("name"):
        arts = [a for a in arts if a.name == c.query["name"]]
    return c.paginate([c.render.artifact(repo, a) for a in arts], "artifacts")


def _r_run_artifacts(c: _Ctx) -> _Resp:
    repo = c.repo()
    return _artifact_list(c, repo, list(_find_run(repo, c.params["run_id"]).artifacts))


def _r_repo_artifacts(c: _Ctx) -> _Resp:
    repo = c.repo()
    arts = [a for run in repo.runs.values() for a in run.artifacts]
    return _artifact_list(c, repo, sorted(arts, key=lambda a: a.id, reverse=True))


def _find_artifact(repo: FakeRepo, aid: str) -> FakeArtifact:
    a = repo.artifact(int(aid))
    if a is None:
        raise _HTTPError(404, _error_body(404, doc=f"{DOCS}/actions/artifacts#get-an-artifact"))
    return a


def _r_get_artifact(c: _Ctx) -> _Resp:
    repo = c.repo()
    return _Resp(200, c.render.artifact(repo, _find_artifact(repo, c.params["aid"])))


def _r_artifact_zip(c: _Ctx) -> _Resp:
    repo = c.repo()
    a = _find_artifact(repo, c.params["aid"])
    if c.params["fmt"] != "zip":
        raise _HTTPError(404, _error_body(404))
    if a.expired:
        raise _HTTPError(
            410,
            _error_body(
                410, "Artifact has expired", f"{DOCS}/actions/artifacts#download-an-artifact"
            ),
        )
    return _Resp(302, b"", {"location": c.fake._mint_blob(a.data)}, "text/html;charset=utf-8")


_ROUTES: list[tuple[str, re.Pattern[str], Callable[[_Ctx], _Resp]]] = [
    (m, re.compile(p), f)
    for m, p, f in [
        ("GET", r"/rate_limit", _r_rate_limit),
        ("GET", r"/user", _r_user),
        ("GET", rf"{_REPO}", _r_repo),
        ("GET", rf"{_REPO}/issues", _r_list_issues),
        ("GET", rf"{_REPO}/issues/(?P<number>\d+)", _r_get_issue),
        ("PATCH", rf"{_REPO}/issues/(?P<number>\d+)", _r_patch_issue),
        ("GET", rf"{_REPO}/issues/(?P<number>\d+)/comments", _r_list_comments),
        ("POST", rf"{_REPO}/issues/(?P<number>\d+)/comments", _r_create_comment),
        ("GET", rf"{_REPO}/issues/comments/(?P<cid>\d+)", _r_get_comment),
        ("PATCH", rf"{_REPO}/issues/comments/(?P<cid>\d+)", _r_patch_comment),
        ("DELETE", rf"{_REPO}/issues/comments/(?P<cid>\d+)", _r_delete_comment),
        ("GET", rf"{_REPO}/pulls", _r_list_pulls),
        ("POST", rf"{_REPO}/pulls", _r_create_pull),
        ("GET", rf"{_REPO}/pulls/(?P<number>\d+)", _r_get_pull),
        ("PATCH", rf"{_REPO}/pulls/(?P<number>\d+)", _r_patch_pull),
        ("PUT", rf"{_REPO}/pulls/(?P<number>\d+)/merge", _r_merge_pull),
        ("GET", rf"{_REPO}/actions/workflows", _r_list_workflows),
        ("GET", rf"{_REPO}/actions/workflows/(?P<wf>[^/]+)", _r_get_workflow),
        ("GET", rf"{_REPO}/actions/workflows/(?P<wf>[^/]+)/runs", _r_workflow_runs),
        ("POST", rf"{_REPO}/actions/workflows/(?P<wf>[^/]+)/dispatches", _r_dispatch),
        ("GET", rf"{_REPO}/actions/runs", _r_repo_runs),
        ("GET", rf"{_REPO}/actions/runs/(?P<run_id>\d+)", _r_get_run),
        ("GET", rf"{_REPO}/actions/runs/(?P<run_id>\d+)/artifacts", _r_run_artifacts),
        ("GET", rf"{_REPO}/actions/artifacts", _r_repo_artifacts),
        ("GET", rf"{_REPO}/actions/artifacts/(?P<aid>\d+)", _r_get_artifact),
        ("GET", rf"{_REPO}/actions/artifacts/(?P<aid>\d+)/(?P<fmt>[^/]+)", _r_artifact_zip),
    ]
]


def _dispatch(c: _Ctx) -> _Resp:
    method = "GET" if c.method == "HEAD" else c.method
    for m, pat, fn in _ROUTES:
        match = pat.fullmatch(c.path)
        if match and m == method:
            c.params = {k: unquote(v) for k, v in match.groupdict().items()}
            return fn(c)
    raise _HTTPError(404, _error_body(404, doc=DOCS))


def _blob_response(fake: FakeGitHub, token: str, has_auth: bool) -> _Resp:
    xml = "application/xml"

    def err(status: int, code: str, msg: str) -> _Resp:
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
            f"<Message>{msg}</Message></Error>"
        ).encode()
        return _Resp(status, body, {}, xml, api=False)

    with fake.lock:
        blob = fake._blobs.get(token)
        if blob is None:
            return err(404, "BlobNotFound", "The specified blob does not exist.")
        if has_auth and fake.blob_rejects_auth:
            return err(
                400,
                "InvalidAuthenticationInfo",
                "Authentication information is not given in the correct format.",
            )
        if time.time() > blob.expires or blob.uses_left == 0:
            return err(
                403,
                "AuthenticationFailed",
                "Server failed to authenticate the request. Signed expiry time has passed.",
            )
        if blob.uses_left is not None:
            blob.uses_left -= 1
        return _Resp(200, blob.data, {}, "application/zip", api=False)


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------

_REDACTED_HEADERS = {"authorization", "proxy-authorization", "cookie"}
_GIT_PATH = re.compile(r"/[^/]+/[^/]+\.git/(info/refs|git-upload-pack|git-receive-pack|HEAD)")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub  # set on the bound subclass
    protocol_version = "HTTP/1.1"
    server_version = "github.com"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        with self.fake.lock:
            self.fake._conns.add(self.connection)

    def finish(self) -> None:
        with self.fake.lock:
            self.fake._conns.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    # ---- one request -----------------------------------------------------------------------

    def _handle(self) -> None:
        fake = self.fake
        if fake.git_root is not None and _GIT_PATH.match(urlsplit(self.path).path):
            self._git()
            return
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        split = urlsplit(self.path)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        auth = self.headers.get("authorization")
        login = fake._login_for(auth)
        path = split.path.rstrip("/") or "/"
        rec = RecordedRequest(
            index=-1,
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            body=body,
            headers={k: v for k, v in self.headers.items() if k.lower() not in _REDACTED_HEADERS},
            authorized=bool(auth),
            login=login,
            canonical_path=fake._canonical(path),
        )
        fake._record(rec)
        fault = fake._take_fault(rec.method, rec.canonical_path)
        rec.fault = fault
        if fault is not None and not fault.after:
            if fault.delay:
                fake._stop.wait(fault.delay)
            if fault.drop:
                self._drop(rec)
                return
            if fault.status is not None:
                self._send(self._finish(fake._fault_response(fault)), rec)
                return
        try:
            resp = self._respond(rec, raw, auth, login)
        except Exception as e:  # a bug in the fake: tell the client, keep it for the test
            fake.errors.append(e)
            resp = _Resp(500, _error_body(500, f"FakeGitHub crashed: {e!r}"))
        if fault is not None and fault.after:
            rec.effect_status = resp.status
            if fault.delay:
                fake._stop.wait(fault.delay)
            if fault.drop:
                self._drop(rec)
                return
            if fault.status is not None:
                resp = fake._fault_response(fault)
        self._send(self._finish(resp), rec)

    def _respond(
        self, rec: RecordedRequest, raw: bytes, auth: str | None, login: str | None
    ) -> _Resp:
        fake = self.fake
        m = re.fullmatch(r"/_blobs/([^/]+)", rec.path)
        if m and rec.method in ("GET", "HEAD"):
            return _blob_response(fake, m.group(1), bool(auth))
        if not auth:
            return _Resp(401, _error_body(401, "Requires authentication", DOCS))
        if login is None:
            return _Resp(401, _error_body(401, "Bad credentials", DOCS))
        if raw and not isinstance(rec.body, dict | list):
            return _Resp(400, _error_body(400, "Problems parsing JSON"))
        ctx = _Ctx(
            fake=fake,
            method=rec.method,
            path=rec.canonical_path,
            query=rec.query,
            body=rec.body,
            login=login,
            token=_token_of(auth),
            authorized=True,
            params={},
            render=_Render(fake),
        )
        with fake.lock:
            try:
                return _dispatch(ctx)
            except _HTTPError as e:
                return _Resp(e.status, e.body, e.headers)

    def _finish(self, resp: _Resp) -> _Resp:
        """Add GitHub's standard headers (fault/handler headers win)."""
        if resp.api:
            std = {
                "x-github-media-type": "github.v3; format=json",
                "x-github-api-version-selected": "2022-11-28",
                "x-github-request-id": secrets.token_hex(4).upper()
                + ":"
                + secrets.token_hex(6).upper(),
                **self.fake._rate_headers(count=True),
            }
            resp.headers = {**std, **resp.headers}
        return resp

    def _send(self, resp: _Resp, rec: RecordedRequest) -> None:
        rec.status = resp.status
        if isinstance(resp.body, bytes):
            payload = resp.body
        elif resp.body is None:
            payload = b""
        else:
            payload = json.dumps(resp.body).encode()
        try:
            self.send_response(resp.status)
            if resp.status != 204:
                self.send_header("content-type", resp.ctype)
            self.send_header("content-length", str(len(payload)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD" and payload:
                self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _git(self) -> None:
        """One smart-HTTP request, answered by ``git http-backend`` (after the token check)."""
        fake = self.fake
        assert fake.git_root is not None
        split = urlsplit(self.path)
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
        auth = self.headers.get("authorization") or ""
        scheme, _, value = auth.partition(" ")
        user = password = ""
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        with fake.lock:
            valid = user == "x-access-token" and password in fake.tokens
        if not valid:
            fake.git_requests.append((self.command, split.path, 401))
            resp = _Resp(401, b"Invalid username or token.\n", ctype="text/plain", api=False)
            resp.headers["WWW-Authenticate"] = 'Basic realm="GitHub"'
            self._send(
                resp, RecordedRequest(-1, self.command, split.path, {}, None, {}, bool(auth))
            )
            return
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": str(fake.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": unquote(split.path),
            "REQUEST_METHOD": self.command,
            "QUERY_STRING": split.query,
            "CONTENT_TYPE": self.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": self.headers.get("git-protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("content-encoding", ""),
        }
        done = subprocess.run(
            ["git", "http-backend"], input=body, capture_output=True, env=env, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            key, _, val = line.partition(":")
            if key.lower() == "status":
                status = int(val.strip().split()[0])
            elif key.lower() != "content-length":
                headers[key.strip()] = val.strip()
        ctype = headers.pop("Content-Type", "application/octet-stream")
        fake.git_requests.append((self.command, split.path, status))
        resp = _Resp(status, payload, ctype=ctype, api=False)
        resp.headers.update(headers)
        self._send(resp, RecordedRequest(-1, self.command, split.path, {}, None, {}, bool(auth)))

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline()

    def _drop(self, rec: RecordedRequest) -> None:
        rec.dropped = True
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------------------------
# Zip archives
# --------------------------------------------------------------------------------------------


def make_zip(
    files: Mapping[str, bytes | str] | Iterable[tuple[str, bytes | str]] = (),
    *,
    declared_sizes: Mapping[str, int] | None = None,
    symlinks: Mapping[str, str] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A zip archive (as GitHub serves artifacts) with entries named exactly as given -
    ``../evil.jsonl``, ``/abs.jsonl`` and duplicate names (pass a list of pairs) included.

    ``symlinks``: ``{entry name: target}`` entries stored as Unix symlinks.
    ``declared_sizes``: ``{entry name: size}`` overwrites the uncompressed size recorded in the
    local and central headers (< 4 GiB), so ``ZipInfo.file_size`` lies - for size-cap tests
    that must not trust the header (a real bomb: ``make_zip({"x": b"0" * 10**8})``, ~100 kB).
    """
    items = list(files.items()) if isinstance(files, Mapping) else list(files)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 20, 10, 0, 0))
            info.compress_type = compression
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data.encode() if isinstance(data, str) else data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 20, 10, 0, 0))
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    out = bytearray(buf.getvalue())
    if declared_sizes:
        _patch_sizes(out, dict(declared_sizes))
    return bytes(out)


def _patch_sizes(buf: bytearray, sizes: dict[str, int]) -> None:
    with zipfile.ZipFile(io.BytesIO(bytes(buf))) as zf:
        infos = zf.infolist()
        start_dir: int = zf.start_dir
    for info in infos:
        if info.filename in sizes:
            off = info.header_offset
            assert buf[off : off + 4] == b"PK\x03\x04"
            buf[off + 22 : off + 26] = sizes[info.filename].to_bytes(4, "little")
    pos = start_dir
    while buf[pos : pos + 4] == b"PK\x01\x02":
        n_len = int.from_bytes(buf[pos + 28 : pos + 30], "little")
        e_len = int.from_bytes(buf[pos + 30 : pos + 32], "little")
        c_len = int.from_bytes(buf[pos + 32 : pos + 34], "little")
        name = bytes(buf[pos + 46 : pos + 46 + n_len]).decode("utf-8", "replace")
        if name in sizes:
            buf[pos + 24 : pos + 28] = sizes[name].to_bytes(4, "little")
        pos += 46 + n_len + e_len + c_len
