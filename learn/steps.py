"""The three steps the workflow chains, as plain functions over the gateways.

``checkout_branch`` → ``run_learn`` → ``publish``. Each runs in its own process (like CI) and
hands over through ``RunState``; each can be run again after a failure and continues.

Two modes: a plan issue on GitHub (``--issue N``: sessions come from the plan's artifacts, the
result is a draft PR or a comment, the plan's ``learn_status`` follows along) and local
(``--session PATH`` only: the result is a commit on ``learn-local-<id>``).
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from learn import actions, docs, plan, sessions, state
from learn.artifacts import Limits, extract_sessions
from learn.config import Settings
from learn.console import Output
from learn.digest import DigestOptions, build_digest
from learn.engines import DOCS_DIR, EngineJob, select
from learn.errors import DocError, PathViolation, TranscriptError, UsageError
from learn.git import Git, Identity
from learn.github import ArtifactInfo, Issue, PullRequest
from learn.github import Settings as GitHubSettings
from learn.state import RunState


class GitLike(Protocol):  # what the steps need of git: Git, or FakeGit in unit tests
    def trunk(self) -> str: ...
    def start_point(self, trunk: str) -> str: ...
    def branch_exists(self, name: str) -> bool: ...
    def remote_url(self, remote: str = "origin") -> str | None: ...
    def fetch(self, remote: str, branch: str) -> None: ...
    def ignore_locally(self, pattern: str) -> None: ...
    def add_worktree(self, path: Path, branch: str, start: str) -> None: ...
    def remove_worktree(self, path: Path) -> None: ...
    def delete_branch(self, branch: str) -> None: ...
    def delete_remote_branch(
        self, remote: str, branch: str, env: dict[str, str] | None = None
    ) -> None: ...
    def changed_paths(self, worktree: Path) -> list[str]: ...
    def show(self, worktree: Path, rev_path: str) -> str | None: ...
    def commits_since(self, base: str, ref: str) -> int: ...
    def commit(self, worktree: Path, paths: list[str], message: str, who: Identity) -> str: ...
    def push(
        self, worktree: Path, remote: str, branch: str, env: dict[str, str] | None = None
    ) -> None: ...


class GitHubLike(Protocol):  # GitHub, or FakeGitHubGateway in unit tests
    def default_branch(self) -> str: ...
    def issue(self, number: int) -> Issue: ...
    def artifacts(self, run_id: str) -> list[ArtifactInfo]: ...
    def download_artifact(self, artifact: ArtifactInfo, dest: Path, max_bytes: int) -> Path: ...
    def update_issue_body(self, number: int, change: Callable[[str], str]) -> str: ...
    def comment_once(self, number: int, body: str, marker: str) -> int: ...
    def open_draft_pr(
        self, branch: str, base: str, title: str, body: str
    ) -> tuple[PullRequest, str]: ...


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

    def push_env(self) -> dict[str, str]:
        """Hand the token to git for one command through the environment, never .git/config."""
        token = self.env.get("GITHUB_TOKEN") or self.env.get("GH_TOKEN")
        if not token:
            return {}
        server = (self.env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
        }


def github_factory(git: Git, env: dict[str, str] | None = None) -> Callable[[], GitHubLike]:
    from learn.github import GitHub

    return lambda: GitHub(GitHubSettings.from_env(git.remote_url(), env))


@dataclass(frozen=True)
class Target:
    """Which run a task is about: a plan issue, local session files, or both."""

    repo: Path
    issue: int | None = None
    sessions: tuple[Path, ...] = ()
    run_id: str | None = None
    force: bool = False

    def key(self) -> str:
        if self.issue is not None:
            return str(self.issue)
        if self.sessions:
            return state.local_key(list(self.sessions), self.run_id)
        if self.run_id:
            return f"local-{self.run_id}"
        return state.latest_key(self.repo)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def marker(run: RunState) -> str:
    return f"<!-- learn-async:{run.key}:{run.run_id} -->"


# -- checkout-branch ---------------------------------------------------------------------------
def checkout_branch(target: Target, deps: Deps) -> RunState:
    """Validate, read the plan, skip if already learned, create ``learn-…`` from the trunk."""
    previous = _previous(target)
    if previous is not None and not previous.finished and previous.worktree.is_dir():
        deps.out.ok(f"continuing run {previous.key}: branch {previous.branch}")
        return previous
    if target.issue is None:
        return _checkout_local(target, deps)
    return _checkout_issue(target, deps, previous)


def _previous(target: Target) -> RunState | None:
    try:
        return state.load(target.repo, target.key())
    except UsageError:
        return None


def _checkout_local(target: Target, deps: Deps) -> RunState:
    if not target.sessions:
        raise UsageError("nothing to learn from", fix="pass --issue N or --session PATH")
    files = sessions.discover(list(target.sessions))
    key = target.key()
    run = _start(target, deps, key, f"learn-{key}", deps.settings.trunk or deps.git.trunk())
    run.sessions = [str(f.path) for f in files]
    run.save()
    deps.out.info(f"sessions: {len(files)} file(s): " + ", ".join(f.path.name for f in files[:5]))
    return run


def _checkout_issue(target: Target, deps: Deps, previous: RunState | None) -> RunState:
    number = target.issue
    assert number is not None
    gh = deps.github
    issue = gh.issue(number)
    header = plan.read_header(issue.body)
    if header is None and not target.sessions:
        raise UsageError(
            f"issue #{number} is not a plan: it has no plan-header metadata block",
            fix="learn from a plan issue, or pass --session PATH",
        )
    status = str((header or {}).get("learn_status") or plan.NOT_STARTED)
    if plan.is_already_learned(status) and not target.force:
        return _skip(target, deps, issue, status)
    if status == plan.PENDING and not target.force:
        deps.out.warn(
            f"issue #{number} says learn_status: pending — a previous run did not finish; learning again"
        )
    run_id = target.run_id or deps.env.get("GITHUB_RUN_ID") or f"l{int(time.time())}"
    located = _locate_sessions(target, deps, issue, header or {}, run_id)
    trunk = deps.settings.trunk or gh.default_branch()
    if deps.git.remote_url():
        deps.git.fetch("origin", trunk)
    run = _start(target, deps, str(number), f"learn-{number}-{run_id}", trunk, run_id=run_id)
    run.title, run.artifacts = issue.title, located
    run.sessions = [str(p) for p in target.sessions]
    run.save()
    _set_status(
        deps,
        run.issue,
        plan.PENDING,
        learn_run_id=run_id,
        learn_branch=run.branch,
        learn_error=None,
    )
    actions.write_outputs({"branch": run.branch}, deps.env)
    return run


def _start(
    target: Target, deps: Deps, key: str, branch: str, trunk: str, run_id: str = ""
) -> RunState:
    base = deps.git.start_point(trunk)
    deps.git.ignore_locally(f"/{state.STATE_DIR}/")
    run = RunState(
        key=key,
        repo=str(target.repo),
        branch=branch,
        trunk=trunk,
        base=base,
        run_id=run_id,
        issue=target.issue,
    )
    reused = deps.git.branch_exists(branch)
    deps.git.add_worktree(run.worktree, branch, base)
    run.save()
    where = run.worktree.relative_to(target.repo)
    deps.out.ok(
        f"{'reusing' if reused else 'created'} branch {branch} from {trunk} ({base[:10]}) in {where}"
    )
    return run


def _skip(target: Target, deps: Deps, issue: Issue, status: str) -> RunState:
    run = RunState(
        key=target.key(),
        repo=str(target.repo),
        branch="",
        trunk="",
        base="",
        issue=issue.number,
        status="skipped",
        operation="skipped",
    )
    run.save()
    deps.out.ok(
        f"issue #{issue.number} is already learned (learn_status: {status}); skipping — use --force to learn again"
    )
    actions.write_outputs(
        {"branch": "", "operation": "skipped", "pr-number": "", "pr-url": ""}, deps.env
    )
    actions.write_summary(
        f"### learn-async: #{issue.number} skipped\n\nAlready learned (`learn_status: {status}`).",
        deps.env,
    )
    return run


def _locate_sessions(
    target: Target, deps: Deps, issue: Issue, header: dict[str, Any], run_id: str
) -> list[dict[str, Any]]:
    """The plan's session artifacts, checked to exist and not to be expired."""
    if target.sessions:
        sessions.discover(list(target.sessions))  # validates the paths
        return []
    refs = plan.session_sources(header)
    if not refs:
        _no_sessions(
            deps,
            issue,
            run_id,
            "the plan has no session fields (last_remote_impl_run_id / "
            "last_remote_impl_session_id)",
        )
    located: list[dict[str, Any]] = []
    for ref in refs:
        found = {a.name: a for a in deps.github.artifacts(ref.run_id)}
        artifact = found.get(ref.name)
        if artifact is None:
            _no_sessions(
                deps, issue, run_id, f"artifact {ref.name} is not in workflow run {ref.run_id}"
            )
        elif artifact.expired:
            _no_sessions(
                deps, issue, run_id, f"artifact {ref.name} of workflow run {ref.run_id} has expired"
            )
        else:
            located.append(
                {
                    "run_id": ref.run_id,
                    "id": artifact.id,
                    "name": artifact.name,
                    "size": artifact.size,
                }
            )
    return located


def _no_sessions(deps: Deps, issue: Issue, run_id: str, why: str) -> None:
    body = (
        f"<!-- learn-async:{issue.number}:{run_id} -->\n"
        f"**learn-async** could not learn from this plan: {why}.\n\n"
        "The session transcript is uploaded as a workflow artifact `session-<session id>` by the "
        "implementation run, and the plan header names it (`last_remote_impl_run_id`, "
        "`last_remote_impl_session_id`). Re-run the implementation to upload it, or learn locally "
        "with `invoke learn --issue N --session PATH`."
    )
    deps.github.comment_once(issue.number, body, f"<!-- learn-async:{issue.number}:{run_id} -->")
    _set_failed(deps, issue.number, why)
    raise TranscriptError(
        f"no session to learn from for #{issue.number}: {why}", fix="see the comment on the issue"
    )


def _set_status(deps: Deps, issue: int | None, status: str, **fields: object) -> None:
    """Write ``learn_status`` (and other fields) into the plan's metadata; no-op without a plan."""
    if issue is None:
        return
    updates: dict[str, object | None] = {"learn_status": status, **fields}
    deps.github.update_issue_body(issue, lambda body: plan.update_header(body, updates))


def _set_failed(deps: Deps, issue: int | None, reason: str) -> None:
    _set_status(deps, issue, plan.FAILED, learn_error=reason[:200])


# -- run-learn ---------------------------------------------------------------------------------
def run_learn(target: Target, deps: Deps) -> RunState:
    """Download and digest the sessions, run the engine in the worktree, validate what it wrote."""
    run = state.load(target.repo, target.key())
    if run.status == "skipped":
        deps.out.ok("skipped: already learned")
        return run
    if not run.worktree.is_dir():
        raise UsageError(f"the worktree of run {run.key} is gone", fix="run checkout-branch again")
    files = sessions.discover([Path(p) for p in run.sessions] + _download(run, deps))
    with deps.out.group("Digest"):
        result = build_digest(
            files, run.digest_dir, DigestOptions(token_budget=deps.settings.token_budget)
        )
        deps.out.info(result.summary())
        if result.stats.skipped:
            deps.out.warn(
                f"skipped {result.stats.skipped} unreadable line(s): "
                + "; ".join(result.stats.skipped_examples)
            )
    run.digest = {"tokens": result.tokens, "events": result.events, "chunks": len(result.chunks)}
    if result.stats.lines and not result.stats.kept and result.stats.skipped == result.stats.lines:
        raise TranscriptError(
            f"no line of {', '.join(f.path.name for f in files)} is a JSON transcript entry "
            f"({result.stats.skipped} unreadable line(s))",
            fix="pass a Claude Code session .jsonl file",
        )
    if result.prompts == 0:
        run.status, run.docs = "nothing_to_learn", []
        run.save()
        deps.out.ok("nothing to learn: the session has no user prompt (empty or summary-only)")
        return run
    engine, why = select(deps.settings, deps.out, deps.env)
    deps.out.info(f"engine: {why}")
    job = EngineJob(
        digest_dir=run.digest_dir,
        worktree=run.worktree,
        run_dir=run.run_dir,
        sessions=result.sessions,
        issue=run.issue,
        title=run.title,
        today=_now().date().isoformat(),
    )
    with deps.out.group(f"Learn ({engine.name})"):
        outcome = engine.run(job)
        deps.out.info(outcome.summary)
    run.engine = engine.name
    changed = validate_worktree(run, deps.git)
    run.docs = changed
    run.status = "learned" if changed else "nothing_to_learn"
    run.save()
    deps.out.ok(
        f"{len(changed)} file(s) under {DOCS_DIR}/ changed: " + ", ".join(changed)
        if changed
        else "nothing new to learn from this session"
    )
    return run


def _download(run: RunState, deps: Deps) -> list[Path]:
    """Fetch and safely extract the plan's artifacts (again only if not already there)."""
    paths: list[Path] = []
    for item in run.artifacts:
        folder = run.run_dir / "sessions" / item["name"]
        done = folder / ".complete"
        if not done.exists():
            archive = run.run_dir / "artifacts" / f"{item['name']}.zip"
            info = ArtifactInfo(int(item["id"]), item["name"], False, int(item.get("size") or 0))
            cap = deps.settings.artifact_cap_mb * 1024 * 1024
            deps.github.download_artifact(info, archive, cap)
            extract_sessions(archive, folder, item["name"], Limits(entry=cap, total=cap))
            archive.unlink()
            done.touch()
        paths.append(folder)
    return paths


def validate_worktree(run: RunState, git: GitLike) -> list[str]:
    """Fail on anything changed outside docs/learned/; check the docs; regenerate the index."""
    changed = git.changed_paths(run.worktree)
    outside = [p for p in changed if not p.startswith(DOCS_DIR + "/")]
    if outside:
        raise PathViolation(outside)
    if not changed:
        return []
    docs_root = run.worktree / DOCS_DIR
    problems = docs.validate_tree(docs_root)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DocError(f"invalid learned doc(s): {problems[0]}{more}", fix="nothing was committed")
    docs.regenerate_index(docs_root)
    return git.changed_paths(run.worktree)


# -- publish -----------------------------------------------------------------------------------
def publish(target: Target, deps: Deps, *, dry_run: bool = False) -> RunState:
    """Commit docs/learned/**, push, open/update the draft PR — or comment and clean up."""
    run = state.load(target.repo, target.key())
    if run.status == "skipped":
        deps.out.ok("skipped: already learned")
        return run
    changed = validate_worktree(run, deps.git) if run.worktree.is_dir() else []
    if dry_run:
        _show_diff(run, changed, deps)
        deps.out.info("dry run: nothing committed; branch and worktree left as they were")
        return run
    if changed:
        _commit(run, changed, deps)
    has_docs = bool(run.commit) or (
        deps.git.branch_exists(run.branch) and deps.git.commits_since(run.base, run.branch) > 0
    )
    if not has_docs:
        return _nothing_to_publish(run, deps)
    push = deps.settings.push if deps.settings.push is not None else run.issue is not None
    if push and not run.pushed:
        deps.git.push(run.worktree, "origin", run.branch, env=deps.push_env())
        run.pushed = True
        run.save()
        deps.out.ok(f"pushed {run.branch} to origin")
    if run.issue is not None:
        _open_pr(run, deps)
    elif not changed:
        run.operation = "skipped"
        deps.out.ok(f"docs on {run.branch} are already up to date; nothing new to commit")
    run.status = "published"
    run.save()
    deps.git.remove_worktree(run.worktree)
    if run.issue is None:
        deps.out.info(
            f"see them with: git log -p {run.trunk}..{run.branch}   (or git switch {run.branch})"
        )
    return run


def _commit(run: RunState, changed: list[str], deps: Deps) -> None:
    subject = (
        f"Learn from plan #{run.issue}: {run.title}"
        if run.issue is not None
        else (f"Learn from session {', '.join(Path(s).stem[:8] for s in run.sessions[:3])}")
    )
    message = f"{subject[:72]}\n\n{len(changed)} file(s) under {DOCS_DIR}/ written by the {run.engine or '?'} engine.\n"
    who = Identity(deps.settings.bot_name, deps.settings.bot_email)
    run.commit = deps.git.commit(run.worktree, [DOCS_DIR], message, who)
    run.operation, run.pushed = "committed", False
    run.save()
    deps.out.ok(f"committed {len(changed)} file(s) on {run.branch} ({run.commit[:10]})")
    for path in changed:
        deps.out.info(f"  {path}")


def _open_pr(run: RunState, deps: Deps) -> None:
    title = f"Learned docs from plan #{run.issue}: {run.title}"[:120]
    link = actions.run_url(deps.env)
    body = (
        f"Docs learned from the implementation session(s) of plan #{run.issue}.\n\n"
        f"- plan: #{run.issue}\n"
        + (f"- workflow run: {link}\n" if link else "")
        + f"- engine: {run.engine}\n- files: {', '.join(f'`{d}`' for d in run.docs) or 'see the diff'}\n\n"
        "Review, edit and merge, or close if nothing here is worth keeping.\n\n"
        f"{marker(run)}\n"
    )
    pr, operation = deps.github.open_draft_pr(run.branch, run.trunk, title, body)
    run.pr_number, run.pr_url, run.operation = pr.number, pr.url, operation
    run.save()
    _set_status(
        deps,
        run.issue,
        plan.PENDING_REVIEW,
        learn_pr=pr.number,
        learn_branch=run.branch,
        last_learn_at=_now().isoformat().replace("+00:00", "Z"),
        learn_error=None,
    )
    deps.out.ok(f"{operation} draft pull request #{pr.number}: {pr.url}")
    actions.write_outputs(
        {"branch": run.branch, "operation": operation, "pr-number": pr.number, "pr-url": pr.url},
        deps.env,
    )
    actions.write_summary(
        f"### learn-async: #{run.issue} → draft PR #{pr.number}\n\n{pr.url}\n\n"
        + "\n".join(f"- `{d}`" for d in run.docs),
        deps.env,
    )


def _nothing_to_publish(run: RunState, deps: Deps) -> RunState:
    deps.git.remove_worktree(run.worktree)
    deps.git.delete_branch(run.branch)
    if run.issue is not None:
        if deps.git.remote_url():
            deps.git.delete_remote_branch("origin", run.branch, env=deps.push_env())
        body = (
            f"{marker(run)}\n**learn-async** read the implementation session(s) of this plan and "
            "found nothing new worth documenting (no error that needed a fix, no correction)."
        )
        if link := actions.run_url(deps.env):
            body += f"\n\nWorkflow run: {link}"
        deps.github.comment_once(run.issue, body, marker(run))
        _set_status(
            deps,
            run.issue,
            plan.COMPLETED_NO_CHANGES,
            last_learn_at=_now().isoformat().replace("+00:00", "Z"),
            learn_error=None,
        )
        run.operation = "commented"
        actions.write_outputs(
            {"branch": "", "operation": "commented", "pr-number": "", "pr-url": ""}, deps.env
        )
        actions.write_summary(
            f"### learn-async: #{run.issue} — nothing to learn\n\nCommented on the issue.", deps.env
        )
    else:
        run.operation = "skipped"
    run.status = "published"
    run.save()
    deps.out.ok(f"nothing to learn; removed the empty branch {run.branch}")
    return run


def _show_diff(run: RunState, changed: list[str], deps: Deps) -> None:
    if not changed:
        deps.out.info("no changes under docs/learned/")
        return
    for rel in changed:
        old = deps.git.show(run.worktree, f"HEAD:{rel}") or ""
        path = run.worktree / rel
        new = path.read_text(encoding="utf-8") if path.is_file() else ""
        diff = difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{rel}" if old else "/dev/null",
            tofile=f"b/{rel}" if new else "/dev/null",
        )
        deps.out.info("".join(diff).rstrip("\n"))


# -- failure -----------------------------------------------------------------------------------
def record_failure(target: Target, deps: Deps, reason: str) -> RunState | None:
    """Mark the run and the plan ``failed`` (work stays where it is, so a re-run continues)."""
    try:
        run: RunState | None = state.load(target.repo, target.key())
    except UsageError:
        run = None
    if run is not None and run.status == "skipped":
        return run
    if run is not None:
        run.status, run.error = "failed", reason
        run.save()
    _set_failed(deps, target.issue, reason)
    return run


def mark_failed(target: Target, deps: Deps, reason: str) -> None:
    """The workflow's last resort (failure or cancellation): record it, remove a half-made branch.

    A branch whose docs were pushed is kept: a later failure never loses them.
    """
    run = record_failure(target, deps, reason)
    if run is not None and run.status != "skipped" and run.branch:
        deps.git.remove_worktree(run.worktree)
        if not run.pushed and not run.commit:
            deps.git.delete_branch(run.branch)
    deps.out.error(f"learn failed: {reason}")


def failure_guard(target: Target, deps: Deps, exc: Exception) -> None:
    """After a step failed: record it on the plan, best effort (GitHub may be what failed)."""
    if target.issue is None:
        return
    try:
        record_failure(target, deps, str(exc))
    except Exception as second:
        deps.out.warn(f"could not record learn_status: failed on #{target.issue}: {second}")
