"""The three steps the workflow chains, as plain functions over the gateways.

``checkout_branch`` → ``run_learn`` → ``publish``. Each runs in its own process (like CI) and
hands over through ``RunState``; each can be run again after a failure and continues.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from learn import docs, sessions, state
from learn.config import Settings
from learn.console import Output
from learn.digest import DigestOptions, build_digest
from learn.engines import DOCS_DIR, EngineJob, select
from learn.errors import DocError, PathViolation, UsageError
from learn.git import Git, Identity
from learn.state import RunState


class GitLike(Protocol):  # what the steps need of git: Git, or FakeGit in unit tests
    def trunk(self) -> str: ...
    def start_point(self, trunk: str) -> str: ...
    def branch_exists(self, name: str) -> bool: ...
    def ignore_locally(self, pattern: str) -> None: ...
    def add_worktree(self, path: Path, branch: str, start: str) -> None: ...
    def remove_worktree(self, path: Path) -> None: ...
    def delete_branch(self, branch: str) -> None: ...
    def changed_paths(self, worktree: Path) -> list[str]: ...
    def show(self, worktree: Path, rev_path: str) -> str | None: ...
    def commits_since(self, base: str, ref: str) -> int: ...
    def commit(self, worktree: Path, paths: list[str], message: str, who: Identity) -> str: ...
    def push(self, worktree: Path, remote: str, branch: str) -> None: ...


@dataclass(frozen=True)
class Target:
    """Which run a task is about: the repository and a local session (or, later, an issue)."""

    repo: Path
    sessions: tuple[Path, ...] = ()
    run_id: str | None = None

    def key(self) -> str:
        if self.sessions:
            return state.local_key(list(self.sessions), self.run_id)
        if self.run_id:
            return f"local-{self.run_id}"
        return state.latest_key(self.repo)


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


# -- checkout-branch ---------------------------------------------------------------------------
def checkout_branch(target: Target, settings: Settings, out: Output, git: GitLike) -> RunState:
    """Create (or reuse) ``learn-<key>`` from the trunk, in a worktree of its own."""
    if not target.sessions:
        raise UsageError(
            "nothing to learn from", fix="pass --session PATH (a transcript or a folder)"
        )
    files = sessions.discover(list(target.sessions))
    key = target.key()
    branch = f"learn-{key}"
    trunk = settings.trunk or git.trunk()
    base = git.start_point(trunk)
    git.ignore_locally(f"/{state.STATE_DIR}/")
    run = RunState(
        key=key,
        repo=str(target.repo),
        branch=branch,
        trunk=trunk,
        base=base,
        run_id=target.run_id or "",
        sessions=[str(f.path) for f in files],
    )
    reused = git.branch_exists(branch)
    git.add_worktree(run.worktree, branch, base)
    run.save()
    where = run.worktree.relative_to(target.repo)
    verb = "reusing" if reused else "created"
    out.ok(f"{verb} branch {branch} from {trunk} ({base[:10]}) in worktree {where}")
    out.info(f"sessions: {len(files)} file(s): " + ", ".join(f.path.name for f in files[:5]))
    return run


# -- run-learn ---------------------------------------------------------------------------------
def run_learn(target: Target, settings: Settings, out: Output, git: GitLike) -> RunState:
    """Digest the sessions, run the engine in the worktree, validate what it wrote."""
    run = state.load(target.repo, target.key())
    if not run.worktree.is_dir():
        raise UsageError(f"the worktree of run {run.key} is gone", fix="run checkout-branch again")
    files = sessions.discover([Path(p) for p in run.sessions])
    with out.group("Digest"):
        result = build_digest(
            files, run.digest_dir, DigestOptions(token_budget=settings.token_budget)
        )
        out.info(result.summary())
        if result.stats.skipped:
            out.warn(
                f"skipped {result.stats.skipped} unreadable line(s): "
                + "; ".join(result.stats.skipped_examples)
            )
    run.digest = {"tokens": result.tokens, "events": result.events, "chunks": len(result.chunks)}
    if result.stats.lines and not result.stats.kept and result.stats.skipped == result.stats.lines:
        from learn.errors import TranscriptError

        raise TranscriptError(
            f"no line of {', '.join(f.path.name for f in files)} is a JSON transcript entry "
            f"({result.stats.skipped} unreadable line(s))",
            fix="pass a Claude Code session .jsonl file",
        )
    if result.prompts == 0:
        run.status, run.docs = "nothing_to_learn", []
        run.save()
        out.ok("nothing to learn: the session has no user prompt (empty or summary-only)")
        return run
    engine, why = select(settings)
    out.info(f"engine: {why}")
    job = EngineJob(
        digest_dir=run.digest_dir,
        worktree=run.worktree,
        run_dir=run.run_dir,
        sessions=result.sessions,
        issue=run.issue,
        title="",
        today=_today(),
    )
    with out.group(f"Learn ({engine.name})"):
        outcome = engine.run(job)
        out.info(outcome.summary)
    run.engine = engine.name
    changed = validate_worktree(run, git)
    run.docs = changed
    run.status = "learned" if changed else "nothing_to_learn"
    run.save()
    if changed:
        out.ok(f"{len(changed)} file(s) under {DOCS_DIR}/ changed: " + ", ".join(changed))
    else:
        out.ok("nothing new to learn from this session")
    return run


def validate_worktree(run: RunState, git: GitLike) -> list[str]:
    """Fail on anything changed outside docs/learned/; check the docs; regenerate the index."""
    changed = git.changed_paths(run.worktree)
    outside = [p for p in changed if not p.startswith(DOCS_DIR + "/")]
    if outside:
        raise PathViolation(outside)
    docs_root = run.worktree / DOCS_DIR
    if not changed:
        return []
    problems = docs.validate_tree(docs_root)
    if problems:
        raise DocError(
            f"invalid learned doc(s): {problems[0]}"
            + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""),
            fix="nothing was committed",
        )
    docs.regenerate_index(docs_root)
    return git.changed_paths(run.worktree)


# -- publish -----------------------------------------------------------------------------------
def publish(
    target: Target, settings: Settings, out: Output, git: GitLike, *, dry_run: bool = False
) -> RunState:
    """Commit docs/learned/** on the learn branch (and push), or clean up when nothing changed."""
    run = state.load(target.repo, target.key())
    changed = validate_worktree(run, git) if run.worktree.is_dir() else []
    if dry_run:
        _show_diff(run, changed, git, out)
        out.info("dry run: nothing committed; branch and worktree left as they were")
        return run
    if not changed:
        return _nothing_to_publish(run, git, out)
    message = f"Learn from session {', '.join(Path(s).stem[:8] for s in run.sessions[:3])}\n\n"
    message += (
        f"{len(changed)} file(s) under {DOCS_DIR}/ written by the {run.engine or '?'} engine.\n"
    )
    who = Identity(settings.bot_name, settings.bot_email)
    run.commit = git.commit(run.worktree, [DOCS_DIR], message, who)
    run.status, run.operation = "published", "committed"
    run.save()
    out.ok(f"committed {len(changed)} file(s) on {run.branch} ({run.commit[:10]})")
    if settings.push:
        git.push(run.worktree, "origin", run.branch)
        run.operation = "pushed"
        run.save()
        out.ok(f"pushed {run.branch} to origin")
    git.remove_worktree(run.worktree)
    for path in changed:
        out.info(f"  {path}")
    out.info(f"see them with: git log -p {run.trunk}..{run.branch}   (or git switch {run.branch})")
    return run


def _nothing_to_publish(run: RunState, git: GitLike, out: Output) -> RunState:
    has_earlier = git.branch_exists(run.branch) and git.commits_since(run.base, run.branch) > 0
    git.remove_worktree(run.worktree)
    if has_earlier:
        run.operation = "skipped"
        out.ok(f"docs on {run.branch} are already up to date; nothing new to commit")
    else:
        git.delete_branch(run.branch)
        run.operation = "skipped"
        out.ok(f"nothing to learn; removed the empty branch {run.branch}")
    run.status = "published"
    run.save()
    return run


def _show_diff(run: RunState, changed: list[str], git: GitLike, out: Output) -> None:
    if not changed:
        out.info("no changes under docs/learned/")
        return
    for rel in changed:
        old = git.show(run.worktree, f"HEAD:{rel}") or ""
        path = run.worktree / rel
        new = path.read_text(encoding="utf-8") if path.is_file() else ""
        diff = difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{rel}" if old else "/dev/null",
            tofile=f"b/{rel}" if new else "/dev/null",
        )
        out.info("".join(diff).rstrip("\n"))


def open_git(repo: Path) -> Git:
    return Git.open(repo)
