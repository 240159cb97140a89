"""Removing what learn runs leave: one run's worktree, branch and folder (:func:`discard`), and
everything stale in a repository (:func:`clean`, the ``clean`` task).

Only our own things are touched: worktrees under ``.learn/runs/``, ``learn-local-*`` branches
with no commits of their own, and run folders. A branch with docs nobody else has is kept.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from learn.console import Output
from learn.errors import LearnError, UsageError
from learn.gateways.git import Git, GitLike
from learn.steps import state
from learn.steps.state import RunState

__all__ = ["clean", "discard"]


def discard(run: RunState, git: GitLike) -> list[str]:
    """Remove what ``run`` made: its worktree, its branch when the run created it and nothing
    was committed on it, and its run folder. Returns what was removed, for the message."""
    removed: list[str] = []
    if run.worktree.exists():
        removed.append(f"worktree {run.worktree}")
    git.remove_worktree(run.worktree)
    if run.created_branch and not run.commit and run.branch and git.branch_exists(run.branch):
        with contextlib.suppress(LearnError):
            if git.commits_since(run.base, run.branch) == 0:
                git.delete_branch(run.branch)
                removed.append(f"branch {run.branch}")
    if run.run_dir.exists():
        shutil.rmtree(run.run_dir, ignore_errors=True)
        removed.append(f"run folder {run.run_dir}")
    _remove_empty(run.run_dir.parent)
    return removed


def _remove_empty(runs: Path) -> None:
    for folder in (runs, runs.parent):  # .learn/runs, .learn
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty


def clean(git: Git, out: Output) -> list[str]:
    """Remove stale run folders, our worktrees and ``learn-local-*`` branches without commits
    of their own (call it holding the repository's lock: no run is in progress then)."""
    runs = git.repo / state.STATE_DIR / "runs"
    removed: list[str] = []
    for folder in sorted(runs.glob("*")) if runs.is_dir() else []:
        if not folder.is_dir():
            continue
        with contextlib.suppress(UsageError):
            run = state.load(git.repo, folder.name)
            if run.branch and run.worktree.exists():
                removed.append(f"worktree {run.worktree}")
                git.remove_worktree(run.worktree)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(f"run folder {folder}")
    for path in git.worktrees():  # ours whose run folder was removed by hand
        if path.is_relative_to(runs) or _under(path, runs):
            git.remove_worktree(path)
            removed.append(f"worktree {path}")
    checked_out = set(git.worktrees().values())
    for branch in git.branches("learn-local-*"):
        if branch not in checked_out and git.own_commits(branch) == 0:
            git.delete_branch(branch)
            removed.append(f"branch {branch}")
    _remove_empty(runs)
    for what in removed:
        out.ok(f"removed {what}")
    if not removed:
        out.ok("nothing to clean")
    return removed


def _under(path: Path, folder: Path) -> bool:
    with contextlib.suppress(OSError):
        return path.resolve().is_relative_to(folder.resolve())
    return False
