"""When a step fails: record ``learn_status: failed`` on the plan, and the workflow's last resort
(``mark-failed``) that also removes a half-made branch."""

from __future__ import annotations

from learn.ci import actions
from learn.errors import LearnError, UsageError
from learn.steps import messages, state
from learn.steps.cleanup import discard
from learn.steps.context import Deps, Target, set_failed
from learn.steps.state import RunState

__all__ = ["failure_guard", "mark_failed", "record_failure"]


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
        if run.plans:
            from learn.steps.consolidated import record_plans_failure

            record_plans_failure(run, deps, reason)
    set_failed(deps, target.issue, reason)
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
    deps.out.error(f"learn failed: {reason}", title="learn-async failed")
    actions.write_outputs({"operation": "failed"}, deps.env)
    actions.write_summary(messages.failed_summary(_label(target), reason), deps.env)


def failure_guard(target: Target, deps: Deps, exc: BaseException) -> None:
    """After a step failed: with a plan, record it there (best effort: GitHub may be what
    failed) and say what is kept for a re-run; locally, remove what the run made unless it
    holds committed docs. A dry run leaves nothing either way."""
    if isinstance(exc, LearnError) and not exc.records_failure:
        return
    run = _load(target)
    if target.dry_run:
        if run is not None and run.dry_run:
            discard(run, deps.git)
        return
    if target.issue is not None or target.selection is not None:
        try:
            record_failure(target, deps, str(exc) or type(exc).__name__)
        except Exception as second:
            which = f"#{target.issue}" if target.issue is not None else "the plans"
            deps.out.warn(f"could not record learn_status: failed on {which}: {second}")
        if run is not None and run.branch and run.worktree.exists():
            deps.out.warn(
                f"kept the run in {run.run_dir} (branch {run.branch}) so running the same "
                "command again continues; `learn-async clean` removes it"
            )
        return
    if run is None or run.status == "skipped" or not run.branch:
        return
    committed = bool(run.commit)
    if not committed and run.branch and deps.git.branch_exists(run.branch):
        committed = deps.git.commits_since(run.base, run.branch) > 0 and run.created_branch
    if committed:
        run.status, run.error = "failed", str(exc)
        run.save()
        deps.out.warn(
            f"kept branch {run.branch} (it has the learned docs) and the run in {run.run_dir}: "
            "running the same command again continues; `learn-async clean` removes the run"
        )
        return
    removed = discard(run, deps.git)
    if removed:
        deps.out.warn("removed what this run made: " + ", ".join(removed))


def _load(target: Target) -> RunState | None:
    try:
        return state.load(target.repo, target.key())
    except (UsageError, OSError):
        return None


def _label(target: Target) -> str:
    return f"plan #{target.issue}" if target.issue is not None else "the learn run"
