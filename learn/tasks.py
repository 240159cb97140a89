"""The invoke task collection: thin wrappers over :mod:`learn.steps`.

The same collection serves ``invoke`` in this repository (``tasks.py`` imports it), the
``learn-async`` console script, and the workflow's ``nox -s learn -- <task>`` steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from learn import config, steps
from learn.console import Output
from learn.digest import DigestOptions, build_digest
from learn.errors import LearnError, UsageError
from learn.sessions import discover

HELP = {
    "session": "a transcript (.jsonl) or a folder of them; repeatable",
    "repo": "the git repository to learn into (default: the current directory's)",
    "run-id": "id for the branch learn-local-<id> (default: derived from the session files)",
    "engine": "auto | offline  (auto picks the best engine available)",
    "model": "model for the Claude engine",
    "token-budget": "digest chunk size in tokens (default 20000)",
    "trunk": "branch to start from (default: detected)",
    "push": "push the learn branch to origin after committing",
    "dry-run": "show the diff; commit nothing and leave branch and tree as they are",
    "out": "folder for the digest (default: .learn/digest)",
}


def _help(*names: str) -> dict[str, str]:
    return {name: HELP[name] for name in names}


@contextmanager
def _errors(out: Output) -> Iterator[None]:
    """Expected failures become a one-line message and their exit code, never a traceback."""
    try:
        yield
    except LearnError as exc:
        out.error(str(exc))
        raise Exit(code=exc.exit_code) from None


def _step(
    fn: Callable[..., Any],
    cli: dict[str, Any],
    session: list[str],
    run_id: str | None,
    **kwargs: Any,
) -> None:
    """Open the repository, resolve settings and run one step, mapping expected failures."""
    out = Output()
    with _errors(out):
        git = steps.open_git(Path(cli.pop("repo")).resolve())
        settings = config.load(git.repo, cli)
        target = steps.Target(git.repo, tuple(Path(s).resolve() for s in session), run_id or None)
        fn(target, settings, out, git, **kwargs)


@task(iterable=["session"], help=_help("session", "repo", "run-id", "trunk"))
def checkout_branch(
    c: Context, session: list[str], repo: str = ".", run_id: str = "", trunk: str = ""
) -> None:
    """Create the learn branch from the trunk, in a worktree of its own."""
    _step(steps.checkout_branch, {"repo": repo, "trunk": trunk or None}, session, run_id)


@task(
    iterable=["session"], help=_help("session", "repo", "run-id", "engine", "model", "token-budget")
)
def run_learn(
    c: Context,
    session: list[str],
    repo: str = ".",
    run_id: str = "",
    engine: str = "",
    model: str = "",
    token_budget: int = 0,
) -> None:
    """Digest the session(s), run the learn engine, validate what it wrote."""
    cli = {
        "repo": repo,
        "engine": engine or None,
        "model": model or None,
        "token_budget": token_budget or None,
    }
    _step(steps.run_learn, cli, session, run_id)


@task(iterable=["session"], help=_help("session", "repo", "run-id", "dry-run", "push"))
def publish(
    c: Context,
    session: list[str],
    repo: str = ".",
    run_id: str = "",
    dry_run: bool = False,
    push: bool = False,
) -> None:
    """Commit docs/learned/** on the learn branch (or clean up when nothing changed)."""
    _step(steps.publish, {"repo": repo, "push": push or None}, session, run_id, dry_run=dry_run)


@task(iterable=["session"], help=_help(*(k for k in HELP if k != "out")))
def learn(
    c: Context,
    session: list[str],
    repo: str = ".",
    run_id: str = "",
    engine: str = "",
    model: str = "",
    token_budget: int = 0,
    trunk: str = "",
    dry_run: bool = False,
    push: bool = False,
) -> None:
    """checkout-branch, run-learn and publish, in order: what people run locally."""
    checkout_branch(c, session, repo=repo, run_id=run_id, trunk=trunk)
    run_learn(
        c, session, repo=repo, run_id=run_id, engine=engine, model=model, token_budget=token_budget
    )
    publish(c, session, repo=repo, run_id=run_id, dry_run=dry_run, push=push)


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
        config.load(Path.cwd(), {"token_budget": token_budget})  # validates the budget
        result = build_digest(discover(paths), Path(out), DigestOptions(token_budget=token_budget))
        output.info(result.summary())
        for chunk in result.chunks:
            output.info(f"  {chunk}")


ns = Collection(checkout_branch, run_learn, publish, learn, digest)
