"""Step 1, ``checkout-branch``: validate, read the plan, skip if already learned, and create the
learn branch from the trunk in a worktree of its own (a person's checkout is never touched)."""

from __future__ import annotations

import time
from typing import Any

from learn import plan_header
from learn.ci import actions
from learn.errors import TranscriptError, UsageError
from learn.gateways.git import token_env
from learn.gateways.github import Issue, PullRequest
from learn.privacy.outbound import clean
from learn.steps import messages, state
from learn.steps.cleanup import discard
from learn.steps.context import Deps, Target, set_failed, set_status
from learn.steps.state import RunState
from learn.transcripts.files import discover

__all__ = ["checkout_branch"]


def checkout_branch(target: Target, deps: Deps) -> RunState:
    """Validate, read the plan, skip if already learned, create ``learn-…`` from the trunk."""
    previous = _previous(target)
    if previous is not None and previous.dry_run and not target.dry_run:
        discard(previous, deps.git)  # what an interrupted dry run left is never "continued"
        previous = None
    if previous is not None and not previous.finished and previous.worktree.is_dir():
        deps.out.ok(f"continuing run {previous.key}: branch {previous.branch}")
        return previous
    if target.selection is not None:
        from learn.steps.consolidated import checkout_plans

        return checkout_plans(target, deps)
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
    files = discover(list(target.sessions))
    key = target.key()
    run = _start(target, deps, key, f"learn-{key}", deps.settings.trunk or deps.git.trunk())
    run.sessions = [str(f.path) for f in files]
    run.save()
    deps.out.info(
        f"sessions: {len(files)} file(s): " + messages.listing([f.path.name for f in files])
    )
    return run


def _checkout_issue(target: Target, deps: Deps, previous: RunState | None) -> RunState:
    number = target.issue
    assert number is not None
    gh = deps.github
    issue = gh.issue(number)
    header = plan_header.read_header(issue.body)
    if header is None and not target.sessions:
        raise UsageError(
            f"issue #{number} is not a plan: it has no plan-header metadata block",
            fix="learn from a plan issue, or pass --session PATH",
        )
    status = str((header or {}).get("learn_status") or plan_header.NOT_STARTED)
    if plan_header.is_already_learned(status) and not target.force:
        return _skip(target, deps, issue, status)
    if status == plan_header.PENDING and not target.force:
        deps.out.warn(
            f"issue #{number} says learn_status: pending — a previous run did not finish; learning again"
        )
    run_id = target.run_id or deps.env.get("GITHUB_RUN_ID") or f"l{int(time.time())}"
    located = _locate_sessions(target, deps, issue, header or {}, run_id)
    trunk = deps.settings.trunk or gh.default_branch()
    if deps.git.remote_url():
        deps.git.fetch("origin", trunk, env=token_env(deps.env))
    open_pr = _open_learn_pr(deps, header or {})
    if open_pr is not None and not open_pr.branch.startswith(f"learn-{number}-"):
        deps.out.warn(
            f"#{number}'s docs are in the open consolidated learn PR #{open_pr.number}; "
            "learning it alone opens a PR of its own"
        )
        open_pr = None
    if open_pr is not None:
        run = _start_on_open_pr(target, deps, open_pr, trunk, run_id)
    else:
        run = _start(target, deps, str(number), f"learn-{number}-{run_id}", trunk, run_id=run_id)
    run.title, run.artifacts = issue.title, located
    run.sessions = [str(p) for p in target.sessions]
    run.save()
    if target.dry_run:
        return run
    set_status(
        deps,
        run.issue,
        plan_header.PENDING,
        learn_run_id=run_id,
        learn_branch=run.branch,
        learn_error=None,
    )
    actions.write_outputs({"branch": run.branch}, deps.env)
    return run


def _start(
    target: Target,
    deps: Deps,
    key: str,
    branch: str,
    trunk: str,
    run_id: str = "",
    start: str | None = None,
) -> RunState:
    if clean(branch) != branch:  # a branch name is pushed and shown: it passes the check too
        raise UsageError(
            "the branch name would carry a secret or personal data", fix="pass --run-id"
        )
    base = start or deps.git.start_point(trunk)
    if not target.dry_run:
        deps.git.ignore_locally(f"/{state.STATE_DIR}/")
    reused = deps.git.branch_exists(branch)
    run = RunState(
        key=key,
        repo=str(target.repo),
        branch=branch,
        trunk=trunk,
        base=base,
        run_id=run_id,
        issue=target.issue,
        created_branch=not reused,
        dry_run=target.dry_run,
    )
    run.save()  # first, so a failure below knows what to clean up
    deps.git.add_worktree(run.worktree, branch, base)
    where = run.worktree.relative_to(target.repo)
    deps.out.ok(
        f"{'reusing' if reused else 'created'} branch {branch} from {trunk} ({base[:10]}) in {where}"
    )
    return run


def _open_learn_pr(deps: Deps, header: dict[str, Any]) -> PullRequest | None:
    """The plan's learn PR when it is still open (one PR per plan: a re-learn updates it)."""
    value = header.get("learn_pr")
    text = str(value).strip().lstrip("#") if value is not None else ""
    if not text.isdigit():
        return None
    pr = deps.github.pull(int(text))
    if pr is None or pr.state != "open" or not pr.branch.startswith("learn-"):
        return None
    return pr


def _start_on_open_pr(
    target: Target, deps: Deps, pr: PullRequest, trunk: str, run_id: str
) -> RunState:
    """Learn again on the open PR's branch: rebuilt from the trunk when every commit on it is the
    bot's (published with a force-push), else on top of what people pushed (a plain push)."""
    tip = deps.git.start_point(trunk)
    remote = (
        deps.git.fetch_branch("origin", pr.branch, token_env(deps.env))
        if deps.git.remote_url()
        else None
    )
    ours = remote is None or deps.git.only_authored_by(tip, remote, deps.settings.bot_email)
    key = target.key()
    deps.git.remove_worktree(state.run_dir(target.repo, key) / "worktree")
    deps.git.delete_branch(pr.branch)  # a stale local copy; origin's is the PR's
    run = _start(target, deps, key, pr.branch, trunk, run_id=run_id, start=tip if ours else remote)
    run.pr_number, run.pr_url, run.reused_pr = pr.number, pr.url, True
    run.lease = remote or "" if ours else ""
    run.save()
    how = "rebuilt from the trunk" if ours else "continued (it has commits by people)"
    deps.out.ok(f"plan's learn PR #{pr.number} is open: updating its branch {pr.branch}, {how}")
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
        dry_run=target.dry_run,
    )
    run.save()
    deps.out.ok(
        f"issue #{issue.number} is already learned (learn_status: {status}); skipping — use --force to learn again"
    )
    actions.write_outputs(
        {"branch": "", "operation": "skipped", "pr-number": "", "pr-url": ""}, deps.env
    )
    actions.write_summary(messages.skipped_summary(issue.number, status), deps.env)
    return run


def _locate_sessions(
    target: Target, deps: Deps, issue: Issue, header: dict[str, Any], run_id: str
) -> list[dict[str, Any]]:
    """The plan's session artifacts, checked to exist and not to be expired."""
    if target.sessions:
        discover(list(target.sessions))  # validates the paths
        return []
    refs = plan_header.session_sources(header)
    for ref in refs:
        if not str(ref.run_id).strip().isdigit():
            _no_sessions(
                target,
                deps,
                issue,
                run_id,
                f"the plan's workflow run id {ref.run_id!r} is not a number",
            )
    if not refs:
        _no_sessions(
            target,
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
                target,
                deps,
                issue,
                run_id,
                f"artifact {ref.name} is not in workflow run {ref.run_id}",
            )
        elif artifact.expired:
            _no_sessions(
                target,
                deps,
                issue,
                run_id,
                f"artifact {ref.name} of workflow run {ref.run_id} has expired",
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


def _no_sessions(target: Target, deps: Deps, issue: Issue, run_id: str, why: str) -> None:
    if not target.dry_run:
        body = messages.no_session_comment(issue.number, run_id, why)
        deps.github.comment_once(issue.number, body, messages.marker(str(issue.number), run_id))
        set_failed(deps, issue.number, why)
    raise TranscriptError(
        f"no session to learn from for #{issue.number}: {why}", fix="see the comment on the issue"
    )
