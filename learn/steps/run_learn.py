"""Step 2, ``run-learn``: download and digest the sessions, run the engine in the worktree, and
validate what it wrote (only ``docs/learned/**`` may change)."""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from learn import learned_docs
from learn.ci import actions
from learn.console import Output
from learn.digest import DigestOptions, build_digest
from learn.engines import DOCS_DIR, EngineJob, EngineUsage, select
from learn.errors import DocError, NotReady, PathViolation, TranscriptError
from learn.gateways.git import GitLike
from learn.gateways.github import ArtifactInfo
from learn.privacy import outbound, personal
from learn.steps import state
from learn.steps.context import Deps, Target, now
from learn.steps.state import RunState
from learn.transcripts.artifacts import Limits, extract_sessions
from learn.transcripts.files import discover

__all__ = [
    "INDEX_PATH",
    "Learned",
    "check_docs_dir",
    "download",
    "learn_into",
    "run_learn",
    "validate_worktree",
]

INDEX_PATH = f"{DOCS_DIR}/{learned_docs.INDEX_NAME}"


def run_learn(target: Target, deps: Deps) -> RunState:
    """Download and digest the sessions, run the engine in the worktree, validate what it wrote."""
    run = state.load(target.repo, target.key())
    if run.status == "skipped":
        deps.out.ok("skipped: already learned")
        return run
    if run.plans:
        from learn.steps.consolidated import learn_plans

        return learn_plans(run, deps)
    if not run.worktree.is_dir():
        raise NotReady(f"the worktree of run {run.key} is gone", fix="run checkout-branch again")
    check_docs_dir(run.worktree, Path(run.repo))
    run.learned = False
    files = [Path(p) for p in run.sessions] + download(run.artifacts, run.run_dir, deps)
    learned = learn_into(run, deps, files, run.digest_dir, run.issue, run.title)
    run.digest, run.engine, run.docs = learned.digest, learned.engine, learned.docs
    run.usage = learned.usage
    run.status = "learned" if learned.docs else "nothing_to_learn"
    run.learned = True
    run.save()
    return run


@dataclass
class Learned:
    """What one learn pass over some sessions left in the worktree."""

    docs: list[str] = field(default_factory=list)  # changed paths under docs/learned/
    engine: str = ""
    digest: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)  # the engine's turns, tokens and cost


def learn_into(
    run: RunState,
    deps: Deps,
    paths: list[Path],
    digest_dir: Path,
    issue: int | None,
    title: str,
) -> Learned:
    """Digest ``paths``, run the engine in the run's worktree, validate what it wrote."""
    files = discover(paths)
    with deps.out.group("Digest"):
        allow = personal.allowed_domains(deps.settings.email_allow)
        options = DigestOptions(token_budget=deps.settings.token_budget, email_allow=allow)
        try:
            result = build_digest(files, digest_dir, options)
        except BaseException:  # disk full, interrupted, ...: no partial digest is left behind
            shutil.rmtree(digest_dir, ignore_errors=True)
            raise
        deps.out.info(result.summary())
        if masked := outbound.clean_digest(digest_dir):  # the scanner's second pass
            deps.out.info(f"secret scanner: masked {masked} more finding(s) in the digest")
        if result.stats.skipped:
            deps.out.warn(
                f"skipped {result.stats.skipped} unreadable line(s): "
                + "; ".join(result.stats.skipped_examples)
            )
    learned = Learned(
        digest={"tokens": result.tokens, "events": result.events, "chunks": len(result.chunks)}
    )
    if result.stats.lines and not result.stats.kept and result.stats.skipped == result.stats.lines:
        raise TranscriptError(
            f"no line of {', '.join(f.path.name for f in files)} is a JSON transcript entry "
            f"({result.stats.skipped} unreadable line(s))",
            fix="pass a Claude Code session .jsonl file",
        )
    if result.prompts == 0:
        deps.out.ok("nothing to learn: the session has no user prompt (empty or summary-only)")
        return learned
    engine, why = select(deps.settings, deps.out, deps.env)
    deps.out.info(f"engine: {why}")
    job = EngineJob(
        digest_dir=digest_dir,
        worktree=run.worktree,
        run_dir=run.run_dir,
        sessions=result.sessions,
        issue=issue,
        title=title,
        today=now().date().isoformat(),
    )
    with deps.out.group(f"Learn ({engine.name})"):
        outcome = engine.run(job)
        deps.out.info(outcome.summary)
    learned.engine = engine.name
    used = outcome.usage or EngineUsage()
    learned.usage = asdict(used)
    actions.write_outputs({"engine": engine.name, **used.outputs()}, deps.env)
    learned.docs = validate_worktree(run, deps.git, deps.settings.email_allow, deps.out)
    _warn_about_existing_docs(run, learned.docs, deps)
    deps.out.ok(
        f"{len(learned.docs)} file(s) under {DOCS_DIR}/ changed: " + ", ".join(learned.docs)
        if learned.docs
        else "nothing new to learn from this session"
    )
    return learned


def download(artifacts: list[dict[str, Any]], run_dir: Path, deps: Deps) -> list[Path]:
    """Fetch and safely extract the plan's artifacts (again only if not already there)."""
    paths: list[Path] = []
    for item in artifacts:
        folder = run_dir / "sessions" / item["name"]
        done = folder / ".complete"
        if not done.exists():
            archive = run_dir / "artifacts" / f"{item['name']}.zip"
            info = ArtifactInfo(int(item["id"]), item["name"], False, int(item.get("size") or 0))
            cap = deps.settings.artifact_cap_mb * 1024 * 1024
            try:
                deps.github.download_artifact(info, archive, cap)
                extract_sessions(archive, folder, item["name"], Limits(entry=cap, total=cap))
            except BaseException:  # disk full, interrupted, refused: no partial file is kept
                archive.unlink(missing_ok=True)
                shutil.rmtree(folder, ignore_errors=True)
                raise
            archive.unlink()
            done.touch()
        paths.append(folder)
    return paths


def check_docs_dir(worktree: Path, repo: Path) -> None:
    """Refuse a ``docs/learned`` that is (or sits under) a symlink: docs must be written inside
    the repository, into the folder that is committed."""
    real = (worktree / DOCS_DIR).resolve()
    expected = worktree.resolve() / DOCS_DIR
    if real == expected:
        return
    where = (
        "elsewhere in the repository"
        if real.is_relative_to(worktree.resolve())
        else "outside the repository"
    )
    raise DocError(
        f"{repo / DOCS_DIR} (or a folder above it) is a symlink leading {where} ({real})",
        fix=f"make {DOCS_DIR} a real folder in the repository; nothing was written",
    )


def validate_worktree(
    run: RunState, git: GitLike, email_allow: str = "", out: Output | None = None
) -> list[str]:
    """Check what this run wrote; return the paths to commit.

    Anything changed outside docs/learned/ fails the run. The docs this run wrote are cleaned
    and must be valid (a finding left after redaction fails with its file and line); a file
    that was already on the trunk is left alone. Hidden and temporary files are never committed.
    A learn branch never changes ``docs/learned/index.md`` (that is how two learn PRs never
    conflict): an engine's edit of it is undone; ``refresh`` rebuilds it on the trunk.
    """
    check_docs_dir(run.worktree, Path(run.repo))
    changed = git.changed_paths(run.worktree)
    outside = [p for p in changed if not p.startswith(DOCS_DIR + "/")]
    if outside:
        raise PathViolation(outside)
    if INDEX_PATH in changed:
        _undo_index(run.worktree, git)
        changed.remove(INDEX_PATH)
    ours = _committable(changed, out)
    if not ours:
        return []
    docs_root = run.worktree / DOCS_DIR
    allow = personal.allowed_domains(email_allow)
    rels = [p[len(DOCS_DIR) + 1 :] for p in ours]
    outbound.clean_docs(docs_root, rels, allow)
    problems = []
    for rel in rels:
        if rel != learned_docs.INDEX_NAME and (docs_root / rel).is_file():
            problem = learned_docs.check_file(docs_root, Path(rel))
            if problem:
                problems.append(f"{DOCS_DIR}/{rel}: {problem}")
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DocError(
            f"invalid learned doc(s) written by this run: {problems[0]}{more}",
            fix="nothing was committed",
        )
    outbound.check_docs(docs_root, rels, allow)
    return _committable([p for p in git.changed_paths(run.worktree) if p != INDEX_PATH], None)


def _committable(changed: list[str], out: Output | None) -> list[str]:
    """The changed paths under docs/learned/ minus hidden and temporary files (with a warning)."""
    hidden = [p for p in changed if learned_docs.is_hidden(Path(p).relative_to(DOCS_DIR))]
    if hidden and out is not None:
        out.warn("not committing hidden or temporary file(s): " + ", ".join(hidden))
    return [p for p in changed if p not in hidden]


def _warn_about_existing_docs(run: RunState, changed: list[str], deps: Deps) -> None:
    """A doc already on the trunk that does not validate is named (by its real path), not fixed."""
    docs_root = run.worktree / DOCS_DIR
    for rel, problem in learned_docs.tree_problems(docs_root):
        if f"{DOCS_DIR}/{rel.as_posix()}" not in changed:
            real = Path(run.repo) / DOCS_DIR / rel
            deps.out.warn(f"{real} (already on {run.trunk}): {problem} — left as it is")


def _undo_index(worktree: Path, git: GitLike) -> None:
    committed = git.show(worktree, f"HEAD:{INDEX_PATH}")
    path = worktree / INDEX_PATH
    if committed is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(committed.encode("utf-8"))
