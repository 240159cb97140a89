"""Step 3, ``publish``: commit ``docs/learned/**``, push, and open or update the draft PR — or,
when there is nothing to learn, comment on the plan and remove the empty branch."""

from __future__ import annotations

import difflib
from pathlib import Path

from learn import plan_header
from learn.ci import actions
from learn.errors import NotReady
from learn.gateways.git import Identity, token_env
from learn.gateways.github import PullRequest
from learn.steps import cleanup, messages, state
from learn.steps.context import Deps, Target, set_in_review, set_status, timestamp
from learn.steps.run_learn import validate_worktree
from learn.steps.state import RunState

__all__ = ["publish"]


def publish(target: Target, deps: Deps, *, dry_run: bool = False) -> RunState:
    """Commit docs/learned/**, push, open/update the draft PR — or comment and clean up."""
    run = state.load(target.repo, target.key())
    if run.status == "skipped":
        deps.out.ok("skipped: already learned")
        if run.dry_run:
            cleanup.discard(run, deps.git)
        return run
    if run.plans:
        from learn.steps.consolidated import publish_plans

        return publish_plans(run, deps, dry_run=dry_run)
    if not (run.learned or run.status in ("learned", "nothing_to_learn", "published")):
        raise NotReady(
            f"run-learn has not completed for run {run.key} (status: {run.status})",
            fix="run `run-learn` with the same --issue/--session first; nothing was changed",
        )
    changed = (
        validate_worktree(run, deps.git, deps.settings.email_allow, deps.out)
        if run.worktree.is_dir()
        else []
    )
    if dry_run:
        _show_diff(run, changed, deps)
        if run.dry_run:
            cleanup.discard(run, deps.git)
            deps.out.info("dry run: nothing committed; the branch and worktree it used are removed")
        else:
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
        if run.lease:  # the open PR's bot-only branch, rebuilt from the trunk
            deps.git.force_push(
                run.worktree, "origin", run.branch, run.lease, env=token_env(deps.env)
            )
        else:
            deps.git.push(run.worktree, "origin", run.branch, env=token_env(deps.env))
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
    stems = [Path(s).stem for s in run.sessions]
    message = messages.commit_message(run.issue, run.title, stems, len(changed), run.engine)
    who = Identity(deps.settings.bot_name, deps.settings.bot_email)
    run.commit = deps.git.commit(run.worktree, changed, message, who)
    run.operation, run.pushed = "committed", False
    run.save()
    deps.out.ok(f"committed {len(changed)} file(s) on {run.branch} ({run.commit[:10]})")
    for path in changed:
        deps.out.info(f"  {path}")


def _open_pr(run: RunState, deps: Deps) -> None:
    assert run.issue is not None
    title = messages.pr_title(run.issue, run.title)
    link = actions.run_url(deps.env)
    body = messages.pr_body(run.issue, run.engine, run.docs, link, run.key, run.run_id)
    if run.reused_pr and run.pr_number is not None:  # one PR per plan: update the open one
        pr = deps.github.update_pr(PullRequest(run.pr_number, run.pr_url, run.branch), title, body)
        operation = "updated"
    else:
        pr, operation = deps.github.open_draft_pr(run.branch, run.trunk, title, body)
    run.pr_number, run.pr_url, run.operation = pr.number, pr.url, operation
    run.save()
    set_in_review(deps, run.issue, pr.number, run.branch)
    deps.out.ok(f"{operation} draft pull request #{pr.number}: {pr.url}")
    actions.write_outputs(
        {"branch": run.branch, "operation": operation, "pr-number": pr.number, "pr-url": pr.url},
        deps.env,
    )
    summary = messages.pr_summary(
        run.issue,
        pr.number,
        pr.url,
        run.docs,
        operation=operation,
        engine=run.engine,
        usage=run.usage,
    )
    actions.write_summary(summary, deps.env)


def _nothing_to_publish(run: RunState, deps: Deps) -> RunState:
    deps.git.remove_worktree(run.worktree)
    deps.git.delete_branch(run.branch)
    if run.issue is not None and run.reused_pr:
        return _open_pr_left_as_is(run, deps)
    if run.issue is not None:
        if deps.git.remote_url():
            deps.git.delete_remote_branch("origin", run.branch, env=token_env(deps.env))
        body = messages.nothing_to_learn_comment(run.key, run.run_id, actions.run_url(deps.env))
        deps.github.comment_once(run.issue, body, messages.marker(run.key, run.run_id))
        set_status(
            deps,
            run.issue,
            plan_header.COMPLETED_NO_CHANGES,
            last_learn_at=timestamp(),
            learn_error=None,
        )
        run.operation = "commented"
        actions.write_outputs(
            {"branch": "", "operation": "commented", "pr-number": "", "pr-url": ""}, deps.env
        )
        actions.write_summary(
            messages.nothing_to_learn_summary(run.issue, run.engine, run.usage), deps.env
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


def _open_pr_left_as_is(run: RunState, deps: Deps) -> RunState:
    """Learning again found nothing: the plan's open learn PR keeps what it has."""
    assert run.issue is not None
    body = messages.nothing_new_for_open_pr(run.key, run.run_id, run.pr_number or 0)
    deps.github.comment_once(run.issue, body, messages.marker(run.key, run.run_id))
    set_in_review(deps, run.issue, run.pr_number, run.branch)
    run.operation, run.status = "commented", "published"
    run.save()
    actions.write_outputs(
        {
            "branch": run.branch,
            "operation": "commented",
            "pr-number": run.pr_number,
            "pr-url": run.pr_url,
        },
        deps.env,
    )
    deps.out.ok(f"nothing new to learn; learn PR #{run.pr_number} is left as it was")
    return run
