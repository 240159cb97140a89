"""Step 2, ``run-learn``: download and digest the sessions, run the engine in the worktree, and
validate what it wrote (only ``docs/learned/**`` may change)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from learn import learned_docs
from learn.ci import actions
from learn.digest import DigestOptions, build_digest
from learn.engines import DOCS_DIR, EngineJob, EngineUsage, select
from learn.errors import DocError, PathViolation, TranscriptError, UsageError
from learn.gateways.git import GitLike
from learn.gateways.github import ArtifactInfo
from learn.privacy import outbound, personal
from learn.steps import state
from learn.steps.context import Deps, Target, now
from learn.steps.state import RunState
from learn.transcripts.artifacts import Limits, extract_sessions
from learn.transcripts.files import discover

__all__ = ["INDEX_PATH", "Learned", "download", "learn_into", "run_learn", "validate_worktree"]

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
        raise UsageError(f"the worktree of run {run.key} is gone", fix="run checkout-branch again")
    files = [Path(p) for p in run.sessions] + download(run.artifacts, run.run_dir, deps)
    learned = learn_into(run, deps, files, run.digest_dir, run.issue, run.title)
    run.digest, run.engine, run.docs = learned.digest, learned.engine, learned.docs
    run.usage = learned.usage
    run.status = "learned" if learned.docs else "nothing_to_learn"
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
        result = build_digest(files, digest_dir, options)
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
    learned.docs = validate_worktree(run, deps.git, deps.settings.email_allow)
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
            deps.github.download_artifact(info, archive, cap)
            extract_sessions(archive, folder, item["name"], Limits(entry=cap, total=cap))
            archive.unlink()
            done.touch()
        paths.append(folder)
    return paths


def validate_worktree(run: RunState, git: GitLike, email_allow: str = "") -> list[str]:
    """Fail on anything changed outside docs/learned/; clean and check the docs (a finding left
    after redaction fails with its file and line).

    A learn branch never changes ``docs/learned/index.md`` (that is how two learn PRs never
    conflict): an engine's edit of it is undone; ``refresh`` rebuilds it on the trunk.
    """
    changed = git.changed_paths(run.worktree)
    outside = [p for p in changed if not p.startswith(DOCS_DIR + "/")]
    if outside:
        raise PathViolation(outside)
    if INDEX_PATH in changed:
        _undo_index(run.worktree, git)
        changed.remove(INDEX_PATH)
    if not changed:
        return []
    docs_root = run.worktree / DOCS_DIR
    allow = personal.allowed_domains(email_allow)
    rels = [p[len(DOCS_DIR) + 1 :] for p in changed]
    outbound.clean_docs(docs_root, rels, allow)
    problems = learned_docs.validate_tree(docs_root)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DocError(f"invalid learned doc(s): {problems[0]}{more}", fix="nothing was committed")
    outbound.check_docs(docs_root, rels, allow)
    return [p for p in git.changed_paths(run.worktree) if p != INDEX_PATH]


def _undo_index(worktree: Path, git: GitLike) -> None:
    committed = git.show(worktree, f"HEAD:{INDEX_PATH}")
    path = worktree / INDEX_PATH
    if committed is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(committed.encode("utf-8"))
