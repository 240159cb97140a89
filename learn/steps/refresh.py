"""``refresh``: when the trunk moves, keep the learned-docs index whole and the learn branches
mergeable.

Learn branches never write ``docs/learned/index.md``; it is rebuilt here, on the trunk, from the
docs the trunk has (so two learn PRs never conflict over it, in whatever order they merge). A learn
branch that no longer merges cleanly — two branches grew the same topic doc — is rebuilt on the
trunk's tip: each doc it changed is merged with :func:`learn.doc_merge.merge_doc` (the branch's
additions over the trunk's version), committed once, and the branch moved there. Only a branch
whose commits are all the bot's own is rewritten (a force-push with a lease, as Dependabot and
Renovate keep their PRs mergeable); one a person has pushed to is reported and left alone.

Two modes:

- local (default): the trunk branch and the ``learn-local-*`` branches of the repository;
- ``push``: origin's trunk and the head branches of the open learn PRs (``learn-*``, same
  repository), which the workflow runs when ``docs/learned/**`` changes on the trunk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from learn import learned_docs
from learn.doc_merge import merge_doc
from learn.engines import DOCS_DIR
from learn.errors import GitError
from learn.gateways.git import Git, Identity, token_env
from learn.privacy import outbound, personal
from learn.steps.context import Deps
from learn.steps.run_learn import INDEX_PATH
from learn.steps.state import STATE_DIR

__all__ = ["Refreshed", "rebuild_on", "refresh", "refresh_index"]

LOCAL_PATTERN = "learn-local-*"
PUSH_ATTEMPTS = 3  # the trunk may move between our fetch and our push
INDEX_MESSAGE = "Regenerate the learned docs index\n\nWritten by learn-async refresh.\n"


@dataclass
class Refreshed:
    """What a refresh did."""

    trunk: str
    index_commit: str = ""  # the commit that updated the trunk's index, if any
    rebuilt: list[str] = field(default_factory=list)  # branches rewritten onto the trunk
    left: dict[str, str] = field(default_factory=dict)  # branch -> why it was left as it is


def refresh(git: Git, deps: Deps, *, push: bool, everything: bool = False) -> Refreshed:
    """Regenerate the trunk's index, then rebuild the learn branches that need it.

    ``everything``: rebuild every bot-only learn branch that is behind the trunk, not only those
    that no longer merge cleanly.
    """
    env = token_env(deps.env) if push else {}
    if push:
        trunk = deps.settings.trunk or deps.github.default_branch()
        tip = git.fetch_branch("origin", trunk, env)
    else:
        trunk = deps.settings.trunk or git.trunk()
        tip = git.rev(f"refs/heads/{trunk}")
    if tip is None:
        raise GitError(f"trunk branch {trunk!r} does not exist")
    done = Refreshed(trunk)
    git.ignore_locally(f"/{STATE_DIR}/")
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        try:
            new = refresh_index(git, deps, tip, trunk, push=push, env=env)
            break
        except GitError:
            moved = git.fetch_branch("origin", trunk, env) if push else None
            if attempt == PUSH_ATTEMPTS or moved is None or moved == tip:
                raise
            deps.out.info(f"{trunk} moved while refreshing; again on {moved[:10]}")
            tip = moved
    if new:
        done.index_commit, tip = new, new
    for branch, sha in _learn_branches(git, deps, trunk, push=push, env=env):
        why = _refresh_branch(git, deps, branch, sha, tip, trunk, push, env, everything)
        if why:
            done.left[branch] = why
            deps.out.info(f"{branch}: {why}")
        else:
            done.rebuilt.append(branch)
    return done


def _scratch(git: Git, name: str) -> Path:
    return git.repo / STATE_DIR / "refresh" / name


def _bot(deps: Deps) -> Identity:
    return Identity(deps.settings.bot_name, deps.settings.bot_email)


def refresh_index(
    git: Git, deps: Deps, tip: str, trunk: str, *, push: bool, env: Mapping[str, str]
) -> str | None:
    """Commit a regenerated index on the trunk when it is stale; the new trunk commit or None."""
    where = _scratch(git, "trunk")
    git.add_detached_worktree(where, tip)
    try:
        docs_root = where / DOCS_DIR
        if not docs_root.is_dir() or not learned_docs.regenerate_index(docs_root):
            deps.out.ok(f"{INDEX_PATH} on {trunk} is up to date")
            return None
        allow = personal.allowed_domains(deps.settings.email_allow)
        outbound.check_docs(docs_root, [learned_docs.INDEX_NAME], allow)  # as every pushed doc
        new = git.commit(where, [INDEX_PATH], INDEX_MESSAGE, _bot(deps))
        if push:
            try:
                git.push(where, "origin", trunk, env=dict(env))
            except GitError as exc:
                raise GitError(
                    f"could not push the regenerated index to {trunk}: {exc}",
                    fix=f"let the learn-async token push to {trunk} (branch protection), "
                    "or run `learn-async refresh` where it may",
                ) from None
        else:
            _advance(git, trunk, new, tip)
        deps.out.ok(f"regenerated {INDEX_PATH} on {trunk} ({new[:10]})")
        return new
    finally:
        git.remove_worktree(where)


def _advance(git: Git, branch: str, new: str, old: str) -> None:
    """Move a local branch forward, updating the checkout that has it (never clobbering edits)."""
    checkout = git.checked_out_at(branch)
    if checkout is None:
        git.move_branch(branch, new, old)
        return
    try:
        git.fast_forward(checkout, new)
    except GitError as exc:
        raise GitError(
            f"could not move {branch} forward in {checkout}: {exc}",
            fix=f"commit or stash your changes to {INDEX_PATH} and run refresh again",
        ) from None


def _learn_branches(
    git: Git, deps: Deps, trunk: str, *, push: bool, env: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(branch, commit) of the learn branches to look at."""
    if not push:
        found = [(b, git.rev(f"refs/heads/{b}")) for b in git.local_branches(LOCAL_PATTERN)]
        return [(b, sha) for b, sha in found if sha]
    out: list[tuple[str, str]] = []
    for pr in deps.github.open_learn_prs(trunk):
        sha = git.fetch_branch("origin", pr.branch, env)
        if sha:
            out.append((pr.branch, sha))
    return out


def _refresh_branch(
    git: Git,
    deps: Deps,
    branch: str,
    sha: str,
    tip: str,
    trunk: str,
    push: bool,
    env: Mapping[str, str],
    everything: bool,
) -> str:
    """Rebuild ``branch`` on ``tip`` if it needs it; why it was left alone ("" when rebuilt)."""
    base = git.merge_base(tip, sha)
    if base is None:
        return f"shares no history with {trunk}; left alone"
    if base == sha:
        return f"merged into {trunk}"
    if base == tip:
        return f"up to date with {trunk}"
    if not everything and git.merges_cleanly(tip, sha):
        return f"merges cleanly into {trunk}"
    if not git.only_authored_by(base, sha, deps.settings.bot_email):
        deps.out.warn(
            f"{branch} no longer merges cleanly into {trunk} and has commits by others: "
            "not rewritten; merge the trunk into it by hand"
        )
        return "has commits by others; not rewritten"
    where = _scratch(git, branch)
    git.add_detached_worktree(where, tip)
    try:
        new = rebuild_on(git, deps, where, base, sha, trunk, tip)
        if new is None:
            return f"adds nothing {trunk} does not already have"
        if push:
            git.force_push(where, "origin", branch, sha, env=env)
        else:
            if git.checked_out_at(branch) is not None:
                return f"checked out at {git.checked_out_at(branch)}; not moved"
            git.move_branch(branch, new, sha)
        deps.out.ok(f"rebuilt {branch} on {trunk} ({tip[:10]} → {new[:10]})")
        return ""
    finally:
        git.remove_worktree(where)


def rebuild_on(
    git: Git, deps: Deps, worktree: Path, base: str, head: str, trunk: str, tip: str
) -> str | None:
    """In ``worktree`` (at ``tip``), apply the docs ``base..head`` changed, merged doc by doc;
    commit and return the commit, or None when nothing is left to apply."""
    for path in git.changed_between(base, head, DOCS_DIR):
        if path == INDEX_PATH:
            continue  # the trunk's own, rebuilt there
        merged = merge_doc(
            path,
            git.file_at(base, path),
            git.file_at(tip, path),
            git.file_at(head, path),
            git.merge_text,
        )
        target = worktree / path
        if merged is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(merged.encode("utf-8"))
    if not git.changed_paths(worktree):
        return None
    message = f"{git.message(head)}\n\nRebuilt on {trunk} {tip[:10]} by learn-async refresh.\n"
    return git.commit(worktree, [DOCS_DIR], message, _bot(deps))
