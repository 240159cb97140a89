"""Consolidated learning: several plans in one run, one branch and one draft PR.

``invoke learn --issue 12 --issue 15 --issue 18`` or ``--label erk-plan --not-learned --limit 10``
runs the same three steps as a single plan, over a list of plans kept in ``RunState.plans``:

- ``checkout-branch`` selects the plans, finds each one's session artifacts (a plan whose
  artifact is missing or expired is marked ``failed`` with its reason and left out), and creates
  ``learn-plans-<run id>`` from the trunk;
- ``run-learn`` learns the plans one after another into the same worktree, so their lessons
  merge into the same topic docs, and commits each plan's docs on its own; a plan that fails
  (download, transcript, engine, a doc outside ``docs/learned/``) is rolled back and marked,
  and the others go on;
- ``publish`` pushes the branch and opens one draft PR, then updates every plan: the shared PR
  (``pending_review``), a comment when there was nothing to learn (``completed_no_changes``), or
  its own failure (``failed`` with ``learn_error``).

A plan whose own learn PR is still open is left out (re-learn it alone: one PR per plan).
"""

from __future__ import annotations

import time
from typing import Any

from learn import plan_header
from learn.ci import actions
from learn.errors import LearnError, TranscriptError
from learn.gateways.git import Identity, token_env
from learn.gateways.github import Issue
from learn.steps import messages
from learn.steps.checkout import _locate_sessions, _open_learn_pr, _start
from learn.steps.context import (
    Deps,
    Selection,
    Target,
    set_failed,
    set_in_review,
    set_status,
    timestamp,
)
from learn.steps.run_learn import download, learn_into
from learn.steps.state import RunState

__all__ = ["checkout_plans", "learn_plans", "publish_plans", "record_plans_failure"]

PENDING, LEARNED, NOTHING, FAILED, SKIPPED = "pending", "learned", "nothing", "failed", "skipped"


def _entry(issue: Issue, status: str = PENDING, why: str = "") -> dict[str, Any]:
    return {
        "number": issue.number,
        "title": issue.title,
        "status": status,
        "error": why,
        "artifacts": [],
        "docs": [],
        "recorded": status in (SKIPPED, FAILED),  # nothing (more) to write on the plan
    }


# -- checkout-branch ------------------------------------------------------------------------------
def checkout_plans(target: Target, deps: Deps) -> RunState:
    """Select the plans, locate their sessions, create ``learn-plans-<run id>``."""
    selection = target.selection
    assert selection is not None
    run_id = target.run_id or deps.env.get("GITHUB_RUN_ID") or f"l{int(time.time())}"
    entries = [_check(target, deps, issue, run_id) for issue in _select(selection, deps)]
    for entry in entries:
        if entry["status"] != PENDING:
            deps.out.info(f"#{entry['number']}: {entry['status']} — {entry['error']}")
    ready = [e for e in entries if e["status"] == PENDING]
    if not ready:
        return _none_ready(target, deps, selection, entries)
    trunk = deps.settings.trunk or deps.github.default_branch()
    if deps.git.remote_url():
        deps.git.fetch("origin", trunk)
    run = _start(target, deps, target.key(), f"learn-plans-{run_id}", trunk, run_id=run_id)
    run.title, run.plans = selection.describe(), entries
    run.save()
    for entry in ready:
        set_status(
            deps,
            entry["number"],
            plan_header.PENDING,
            learn_run_id=run_id,
            learn_branch=run.branch,
            learn_error=None,
        )
    deps.out.ok(f"{len(ready)} plan(s) to learn: " + ", ".join(f"#{e['number']}" for e in ready))
    actions.write_outputs({"branch": run.branch}, deps.env)
    return run


def _select(selection: Selection, deps: Deps) -> list[Issue]:
    if selection.label:

        def wanted(issue: Issue) -> bool:
            header = plan_header.read_header(issue.body)
            if header is None:
                return False
            status = header.get("learn_status")
            return not selection.not_learned or plan_header.is_learnable(status)

        return deps.github.plan_issues(selection.label, selection.limit, wanted)
    return [deps.github.issue(number) for number in dict.fromkeys(selection.issues)]


def _check(target: Target, deps: Deps, issue: Issue, run_id: str) -> dict[str, Any]:
    header = plan_header.read_header(issue.body)
    if header is None:
        return _entry(issue, SKIPPED, "not a plan (no plan-header metadata block)")
    status = str(header.get("learn_status") or plan_header.NOT_STARTED)
    if plan_header.is_already_learned(status) and not target.force:
        return _entry(issue, SKIPPED, f"already learned (learn_status: {status})")
    pr = _open_learn_pr(deps, header)
    if pr is not None:
        return _entry(issue, SKIPPED, f"its learn PR #{pr.number} is open; re-learn it alone")
    entry = _entry(issue)
    try:
        entry["artifacts"] = _locate_sessions(target, deps, issue, header, run_id)
    except TranscriptError as exc:  # commented on the plan and recorded as failed already
        return _entry(issue, FAILED, str(exc))
    return entry


def _none_ready(
    target: Target, deps: Deps, selection: Selection, entries: list[dict[str, Any]]
) -> RunState:
    run = RunState(
        key=target.key(),
        repo=str(target.repo),
        branch="",
        trunk="",
        base="",
        status="skipped",
        operation="skipped",
        plans=entries,
    )
    run.save()
    actions.write_outputs(
        {"branch": "", "operation": "skipped", "pr-number": "", "pr-url": ""}, deps.env
    )
    failed = [e for e in entries if e["status"] == FAILED]
    if failed:
        raise TranscriptError(
            f"no plan could be learned: {failed[0]['error']}"
            + (f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""),
            fix="see the comments on the plans",
        )
    deps.out.ok(f"nothing to learn: no plan to learn among the {selection.describe()}")
    return run


# -- run-learn ------------------------------------------------------------------------------------
def learn_plans(run: RunState, deps: Deps) -> RunState:
    """Learn each plan into the shared worktree, one commit per plan; a failure stays its own."""
    who = Identity(deps.settings.bot_name, deps.settings.bot_email)
    for entry in run.plans:
        if entry["status"] != PENDING:
            continue
        number = entry["number"]
        deps.out.info(f"plan #{number}: {entry['title']}")
        try:
            files = download(entry["artifacts"], run.run_dir, deps)
            digest_dir = run.run_dir / "plans" / str(number) / "digest"
            learned = learn_into(run, deps, files, digest_dir, number, entry["title"])
            if learned.docs:
                message = messages.commit_message(
                    number, entry["title"], [], len(learned.docs), learned.engine
                )
                entry["commit"] = deps.git.commit(run.worktree, ["docs/learned"], message, who)
                entry["status"], entry["docs"] = LEARNED, learned.docs
            else:
                entry["status"] = NOTHING
            run.engine = learned.engine or run.engine
        except LearnError as exc:
            deps.git.discard_changes(run.worktree)
            entry["status"], entry["error"] = FAILED, str(exc)
            deps.out.warn(f"plan #{number} failed, the others go on: {exc}")
        run.save()
    run.docs = sorted({d for e in run.plans for d in e["docs"]})
    run.status = "learned" if run.docs else "nothing_to_learn"
    run.save()
    return run


# -- publish --------------------------------------------------------------------------------------
def publish_plans(run: RunState, deps: Deps, *, dry_run: bool = False) -> RunState:
    """Push, open one draft PR for the plans that taught something, and update every plan."""
    learned = [e for e in run.plans if e["status"] == LEARNED]
    if dry_run:
        for entry in run.plans:
            docs = ", ".join(entry["docs"]) or entry["error"] or entry["status"]
            deps.out.info(f"#{entry['number']}: {entry['status']} — {docs}")
        deps.out.info("dry run: nothing pushed, no PR, no plan updated")
        return run
    if learned and run.pr_number is None:
        push = deps.settings.push if deps.settings.push is not None else True
        if push and not run.pushed:
            deps.git.push(run.worktree, "origin", run.branch, env=token_env(deps.env))
            run.pushed = True
            run.save()
            deps.out.ok(f"pushed {run.branch} to origin")
        title = messages.plans_pr_title([e["number"] for e in learned])
        link = actions.run_url(deps.env)
        body = messages.plans_pr_body(run.plans, run.engine, link, run.key, run.run_id)
        pr, run.operation = deps.github.open_draft_pr(run.branch, run.trunk, title, body)
        run.pr_number, run.pr_url = pr.number, pr.url
        run.save()
        deps.out.ok(f"{run.operation} draft pull request #{pr.number}: {pr.url}")
    elif not learned:
        run.operation = "commented"
    _record(run, deps)
    deps.git.remove_worktree(run.worktree)
    if not learned:
        deps.git.delete_branch(run.branch)
    run.status = "published"
    run.save()
    actions.write_outputs(
        {
            "branch": run.branch if learned else "",
            "operation": run.operation,
            "pr-number": run.pr_number or "",
            "pr-url": run.pr_url,
        },
        deps.env,
    )
    actions.write_summary(messages.plans_summary(run.plans, run.pr_number, run.pr_url), deps.env)
    failed = [e for e in run.plans if e["status"] == FAILED]
    if failed and len(failed) == len(run.plans):
        raise TranscriptError(f"no plan could be learned: {failed[0]['error']}")
    return run


def _record(run: RunState, deps: Deps) -> None:
    """Write each plan's outcome on it (once: a re-run continues where it stopped)."""
    for entry in run.plans:
        if entry["recorded"] or entry["status"] == PENDING:
            continue
        number = entry["number"]
        if entry["status"] == LEARNED:
            set_in_review(deps, number, run.pr_number, run.branch)
        elif entry["status"] == NOTHING:
            key = str(number)
            body = messages.nothing_to_learn_comment(key, run.run_id, actions.run_url(deps.env))
            deps.github.comment_once(number, body, messages.marker(key, run.run_id))
            set_status(
                deps,
                number,
                plan_header.COMPLETED_NO_CHANGES,
                last_learn_at=timestamp(),
                learn_error=None,
            )
        else:
            set_failed(deps, number, entry["error"])
        entry["recorded"] = True
        run.save()
        deps.out.ok(f"#{number}: {entry['status']}")


def record_plans_failure(run: RunState, deps: Deps, reason: str) -> None:
    """The run failed: every plan not recorded yet is marked ``failed`` (its own reason first).

    A plan that failed on its own is done; the others are written again by a re-run that
    succeeds (it continues where this one stopped).
    """
    for entry in run.plans:
        if entry["recorded"] or entry["status"] == SKIPPED:
            continue
        set_failed(deps, entry["number"], entry["error"] or reason)
        entry["recorded"] = entry["status"] == FAILED
        run.save()
