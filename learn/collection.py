"""The invoke task collection: thin wrappers over :mod:`learn.steps`.

The same collection serves ``invoke`` in this repository (``tasks.py`` imports it), the
``learn-async`` console script, and the workflow's ``nox -s learn -- <task>`` steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from learn import plan_header as plan
from learn import settings, steps
from learn.ci import workflow
from learn.ci.dispatch import Request
from learn.ci.dispatch import dispatch as run_dispatch
from learn.console import Output
from learn.digest import DigestOptions, build_digest
from learn.errors import LearnError, UsageError
from learn.gateways.git import Git
from learn.gateways.github import GitHub, GitHubSettings
from learn.transcripts.files import discover, newest_local_session

# Options of the tasks that are not settings; the settings' help comes from learn.settings.
HELP = {
    "issue": "the plan issue to learn from (GitHub)",
    "session": "a transcript (.jsonl) or a folder of them, or `latest` (the newest local "
    "Claude Code session of the repository); repeatable",
    "repo": "the git repository to learn into (default: the current directory's)",
    "run-id": "id in the branch name learn-<issue>-<id> (default: $GITHUB_RUN_ID or a local id)",
    "force": "learn again even if the plan says it was already learned",
    "dry-run": "show the diff; commit nothing and leave branch and tree as they are",
    "reason": "why the run failed, recorded as learn_error on the plan",
    "out": "folder for the digest (default: .learn/digest)",
    "spec": "pip requirement the workflow installs (default: this exact version)",
    "wait": "follow the run to completion and report the PR or comment it produced",
    "ref": "branch to run the workflow on (default: the repository's default branch)",
    **settings.cli_help(),
}
LATEST = "latest"
TARGET = ("issue", "session", "repo", "run-id")


def _help(*names: str) -> dict[str, str]:
    return {name: HELP[name] for name in names}


def _session_paths(repo: Path, given: Iterable[str]) -> tuple[Path, ...]:
    """``--session`` values as paths; ``latest`` is the newest local session of ``repo``."""
    return tuple(newest_local_session(repo) if s == LATEST else Path(s).resolve() for s in given)


@contextmanager
def _errors(out: Output) -> Iterator[None]:
    """Expected failures become a one-line message and their exit code, never a traceback."""
    try:
        yield
    except LearnError as exc:
        out.error(str(exc))
        raise Exit(code=exc.exit_code) from None


def _step(
    fn: Callable[..., Any], where: dict[str, Any], cli: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    """Open the repository, resolve settings and run one step, mapping expected failures.

    With an issue, a failure is also recorded on the plan (``learn_status: failed``).
    """
    out = Output()
    with _errors(out):
        git = Git.open(Path(where["repo"]).resolve())
        issue = plan.parse_issue_number(where["issue"]) if where.get("issue") else None
        target = steps.Target(
            git.repo,
            issue=issue,
            sessions=_session_paths(git.repo, where.get("session") or ()),
            run_id=where.get("run_id") or None,
            force=bool(where.get("force")),
        )
        resolved = settings.load(git.repo, cli or {})
        deps = steps.Deps(resolved, out, git, steps.github_factory(git, resolved))
        try:
            fn(target, deps, **kwargs)
        except LearnError as exc:
            steps.failure_guard(target, deps, exc)
            raise


@task(iterable=["session"], help=_help(*TARGET, "force", "trunk"))
def checkout_branch(
    c: Context,
    issue: str = "",
    session: list[str] | None = None,
    repo: str = ".",
    run_id: str = "",
    force: bool = False,
    trunk: str = "",
) -> None:
    """Validate, read the plan, create learn-<issue>-<run id> from the trunk (own worktree)."""
    where = {"issue": issue, "session": session, "repo": repo, "run_id": run_id, "force": force}
    _step(steps.checkout_branch, where, {"trunk": trunk or None})


ENGINE = ("engine", "model", "token-budget", "timeout", "dangerously-skip-permissions")


@task(iterable=["session"], help=_help(*TARGET, *ENGINE))
def run_learn(
    c: Context,
    issue: str = "",
    session: list[str] | None = None,
    repo: str = ".",
    run_id: str = "",
    engine: str = "",
    model: str = "",
    token_budget: int = 0,
    timeout: int = 0,
    dangerously_skip_permissions: bool = False,
) -> None:
    """Download and digest the session(s), run the learn engine, validate what it wrote."""
    where = {"issue": issue, "session": session, "repo": repo, "run_id": run_id}
    cli = {
        "engine": engine or None,
        "model": model or None,
        "token_budget": token_budget or None,
        "timeout": timeout or None,
        "skip_permissions": dangerously_skip_permissions or None,
    }
    _step(steps.run_learn, where, cli)


@task(iterable=["session"], help=_help(*TARGET, "dry-run", "push"))
def publish(
    c: Context,
    issue: str = "",
    session: list[str] | None = None,
    repo: str = ".",
    run_id: str = "",
    dry_run: bool = False,
    push: bool = False,
) -> None:
    """Commit docs/learned/**, push, open/update the draft PR — or comment when nothing changed."""
    where = {"issue": issue, "session": session, "repo": repo, "run_id": run_id}
    _step(steps.publish, where, {"push": push or None}, dry_run=dry_run)


@task(iterable=["session"], help=_help(*TARGET, "force", *ENGINE, "trunk", "dry-run", "push"))
def learn(
    c: Context,
    issue: str = "",
    session: list[str] | None = None,
    repo: str = ".",
    run_id: str = "",
    force: bool = False,
    engine: str = "",
    model: str = "",
    token_budget: int = 0,
    timeout: int = 0,
    dangerously_skip_permissions: bool = False,
    trunk: str = "",
    dry_run: bool = False,
    push: bool = False,
) -> None:
    """checkout-branch, run-learn and publish, in order: what people run locally."""
    where: dict[str, Any] = {"issue": issue, "session": session, "repo": repo, "run_id": run_id}
    checkout_branch(c, force=force, trunk=trunk, **where)
    run_learn(
        c,
        engine=engine,
        model=model,
        token_budget=token_budget,
        timeout=timeout,
        dangerously_skip_permissions=dangerously_skip_permissions,
        **where,
    )
    publish(c, dry_run=dry_run, push=push, **where)


@task(iterable=["session"], help=_help(*TARGET, "reason"))
def mark_failed(
    c: Context,
    issue: str = "",
    session: list[str] | None = None,
    repo: str = ".",
    run_id: str = "",
    reason: str = "the workflow failed or was cancelled",
) -> None:
    """Record learn_status: failed and remove a half-made branch (the workflow's last step)."""
    where = {"issue": issue, "session": session, "repo": repo, "run_id": run_id}
    _step(steps.mark_failed, where, reason=reason)


@task(
    positional=["path"],
    help={**_help("out", "token-budget"), "path": "transcript file or folder; several: a,b,c"},
)
def digest(c: Context, path: str, out: str = ".learn/digest", token_budget: int = 20_000) -> None:
    """Write the digest of session transcript(s) and print a one-line summary."""
    output = Output()
    with _errors(output):
        paths = [Path(p) for p in path.split(",") if p.strip()]
        if not paths:
            raise UsageError("no transcript given", fix="invoke digest PATH[,PATH...] [--out DIR]")
        settings.load(Path.cwd(), {"token_budget": token_budget})  # validates the budget
        result = build_digest(discover(paths), Path(out), DigestOptions(token_budget=token_budget))
        output.info(result.summary())
        for chunk in result.chunks:
            output.info(f"  {chunk}")


@task(help=_help("repo", "spec", "force"))
def init(c: Context, repo: str = ".", spec: str = "", force: bool = False) -> None:
    """Install the learn-async workflow (and the .learn/ ignore entry) into a repository."""
    out = Output()
    with _errors(out):
        root = Git.open(Path(repo).resolve()).repo
        changed = workflow.init(root, spec or None, force=force)
        for path in changed:
            out.ok(f"wrote {path.relative_to(root)}")
        if not changed:
            out.ok("already up to date")
        out.info(
            "next: commit these files, add the ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN) "
            "secret, and enable 'Allow GitHub Actions to create and approve pull requests'"
        )


@task(help=_help("issue", "repo", "ref", "model", "engine", "wait"))
def dispatch(
    c: Context,
    issue: str = "",
    repo: str = ".",
    ref: str = "",
    model: str = "",
    engine: str = "",
    wait: bool = False,
) -> None:
    """Start the learn-async workflow for a plan issue (and with --wait, follow it)."""
    out = Output()
    with _errors(out):
        if not issue:
            raise UsageError("which plan?", fix="pass --issue N")
        git = Git.open(Path(repo).resolve())
        number = plan.parse_issue_number(issue)
        resolved = settings.load(git.repo, {"model": model or None, "engine": engine or None})
        gh = GitHub(GitHubSettings.from_env(git.remote_url(), resolved))
        request = Request(
            issue=number,
            ref=ref or gh.default_branch(),
            model=resolved.model if model else None,
            engine=engine or None,
            wait=wait,
            poll_seconds=resolved.dispatch_poll,
        )
        run_dispatch(gh, request, out)


ns = Collection(checkout_branch, run_learn, publish, learn, mark_failed, digest, init, dispatch)
