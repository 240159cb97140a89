"""The invoke task collection: thin wrappers over :mod:`learn.steps`.

The same collection serves ``invoke`` in this repository (``tasks.py`` imports it), the
``learn-async`` console script, and the steps of the composite action
(``.github/actions/learn-async``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

from learn import plan_header as plan
from learn import settings, steps
from learn.ci import actions, land, workflow
from learn.ci import source as pins
from learn.ci.dispatch import Request
from learn.ci.dispatch import dispatch as run_dispatch
from learn.console import Output
from learn.digest import DigestOptions, build_digest, check_out_folder
from learn.errors import Interrupted, LearnError, UsageError, from_os_error
from learn.gateways.git import Git
from learn.gateways.github import GitHub, GitHubSettings
from learn.steps import messages
from learn.steps.cleanup import clean as clean_repo
from learn.steps.lock import repo_lock
from learn.transcripts.files import discover, newest_local_session

__all__ = [
    "ENGINE",
    "HELP",
    "INIT_HELP",
    "LATEST",
    "SHORT",
    "TARGET",
    "LearnTask",
    "checkout_branch",
    "clean",
    "digest",
    "dispatch",
    "find_plan",
    "init",
    "learn",
    "learn_task",
    "mark_failed",
    "ns",
    "publish",
    "refresh",
    "run_learn",
]

# Options of the tasks that are not settings; the settings' help comes from learn.settings.
HELP = {
    "issue": "the plan issue to learn from (GitHub); several (repeated, or '12 15 18') "
    "are learned together into one PR",
    "label": "learn the open plans with this label together into one PR (with --limit)",
    "not-learned": "with --label: only the plans not learned yet",
    "limit": "with --label: at most this many plans (default 10)",
    "session": "a transcript (.jsonl) or a folder of them, or `latest` (the newest local "
    "Claude Code session of the repository); repeatable",
    "repo": "the git repository to learn into (default: the current directory's)",
    "run-id": "id in the branch name learn-<issue>-<id> (default: $GITHUB_RUN_ID or a local id)",
    "force": "learn again even if the plan says it was already learned",
    "dry-run": "show the diff; commit nothing and leave branch and tree as they are",
    "reason": "why the run failed, recorded as learn_error on the plan",
    "out": "folder for the digest (default: .learn/digest)",
    "wait": "follow the run to completion and report the PR or comment it produced",
    "ref": "branch to run the workflow on (default: the repository's default branch)",
    "event": "the GitHub event JSON to read the merged pull request from "
    "(default: $GITHUB_EVENT_PATH)",
    "all": "rebuild every bot-only learn branch behind the trunk, not only those that conflict",
    **settings.cli_help(),
}
LATEST = "latest"
INIT_HELP = {
    "repo": "the repository to write the workflow into (default: the current directory's)",
    "on-land": "also start learning when a pull request that implements a plan is merged",
    "source": "OWNER/REPO of learn-async on GitHub the workflow pins "
    "(default: where this learn-async was installed from)",
    "ref": "the 40-hex commit of learn-async the workflow pins (default: the installed commit)",
    "force": "replace a workflow init did not write, or pin an older learn-async than it has",
}
# One short flag per option name, the same in every task; the other options are long only
# (``-d`` for both --dry-run and --dangerously-skip-permissions was a trap).
SHORT = {"issue": "i", "session": "s", "repo": "r", "force": "f", "engine": "e", "model": "m"}


class LearnTask(Task):
    """A task whose short flags come from :data:`SHORT` (never guessed from the name)."""

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Any]:
        """invoke pops each help text as it builds the arguments; keep them for the next call
        (the parser, ``--help`` and the tests each ask)."""
        kept = dict(self.help)
        try:
            return list(super().get_arguments(ignore_unknown_help))
        finally:
            self.help = kept

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        short = SHORT.get(name)
        if short and short not in taken_names:
            opts["names"].append(short)
        return opts


def learn_task(*args: Any, **kwargs: Any) -> Any:
    """``@task`` with learn-async's short flags."""
    return task(*args, klass=LearnTask, auto_shortflags=False, **kwargs)


TARGET = ("issue", "session", "repo", "run-id", "label", "not-learned", "limit")


def _help(*names: str) -> dict[str, str]:
    return {name: HELP[name] for name in names}


def _session_paths(repo: Path, given: Iterable[str]) -> tuple[Path, ...]:
    """``--session`` values as paths; ``latest`` is the newest local session of ``repo``."""
    return tuple(newest_local_session(repo) if s == LATEST else Path(s).resolve() for s in given)


@contextmanager
def _as_learn_errors() -> Iterator[None]:
    """An OS error (a full disk, …) and Ctrl-C become ``LearnError``s with messages for people."""
    try:
        yield
    except OSError as exc:
        raise from_os_error(exc) from None
    except KeyboardInterrupt:
        raise Interrupted("interrupted", fix="what the run made was cleaned up") from None


@contextmanager
def _errors(out: Output) -> Iterator[None]:
    """Expected failures become a one-line message and their exit code, never a traceback:
    ``LearnError`` (its code), an OS error such as a full disk (1), Ctrl-C (130)."""
    try:
        with _as_learn_errors():
            yield
    except LearnError as exc:
        out.error(str(exc), title=exc.title)
        raise Exit(code=exc.exit_code) from None


_warned: set[str] = set()


def _warn_once(out: Output) -> Callable[[str], None]:
    """``learn`` resolves settings once per step: say each warning once."""

    def warn(message: str) -> None:
        if message not in _warned:
            _warned.add(message)
            out.warn(message)

    return warn


def _step(
    fn: Callable[..., Any], where: dict[str, Any], cli: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    """Open the repository, resolve settings and run one step under the repository's lock,
    mapping expected failures.

    On a failure, :func:`steps.failure_guard` records it on the plan (``learn_status:
    failed``) or, locally, removes what the run made.
    """
    out = Output()
    with _errors(out):
        git = Git.open(Path(where["repo"]).resolve())
        issues = _issues(where.get("issue"))
        selection = _selection(issues, where)
        target = steps.Target(
            git.repo,
            issue=issues[0] if issues and selection is None else None,
            sessions=_session_paths(git.repo, where.get("session") or ()),
            run_id=where.get("run_id") or None,
            force=bool(where.get("force")),
            dry_run=bool(where.get("dry_run")),
            selection=selection,
        )
        resolved = settings.load(git.repo, cli or {}, warn=_warn_once(out))
        deps = steps.Deps(resolved, out, git, steps.github_factory(git, resolved))
        with repo_lock(git.common_dir(), resolved.lock_wait):
            try:
                with _as_learn_errors():  # so the plan records the same message people see
                    fn(target, deps, **kwargs)
            except BaseException as exc:  # expected or not, the plan gets a terminal status
                previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # cleanup is not cut short
                try:
                    steps.failure_guard(target, deps, exc)
                finally:
                    signal.signal(signal.SIGINT, previous)
                raise


def _issues(value: object) -> list[int]:
    """``--issue`` values: repeated, and each may list several ('12 15 18', '12,15')."""
    items = value if isinstance(value, list) else [value] if value else []
    words = [w for item in items for w in str(item).replace(",", " ").split()]
    return list(dict.fromkeys(plan.parse_issue_number(w) for w in words))


def _selection(issues: list[int], where: dict[str, Any]) -> steps.Selection | None:
    """Several plans (or a label) make a consolidated run; one plan is the usual run."""
    label = str(where.get("label") or "").strip()
    if label and issues:
        raise UsageError("pass either --issue or --label, not both")
    if (label or len(issues) > 1) and where.get("session"):
        raise UsageError("--session goes with one plan, not several")
    limit = int(where.get("limit") or 10)
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    if label:
        return steps.Selection(label=label, not_learned=bool(where.get("not_learned")), limit=limit)
    return steps.Selection(issues=tuple(issues)) if len(issues) > 1 else None


@learn_task(iterable=["session", "issue"], help=_help(*TARGET, "force", "trunk"))
def checkout_branch(
    c: Context,
    issue: list[str] | None = None,
    session: list[str] | None = None,
    repo: str = ".",
    run_id: str = "",
    label: str = "",
    not_learned: bool = False,
    limit: int = 10,
    force: bool = False,
    trunk: str = "",
) -> None:
    """Validate, read the plan, create learn-<issue>-<run id> from the trunk (own worktree)."""
    where: dict[str, Any] = {
        "issue": issue,
        "session": session,
        "repo": repo,
        "run_id": run_id,
        "force": force,
    }
    where |= {"label": label, "not_learned": not_learned, "limit": limit}
    _step(steps.checkout_branch, where, {"trunk": trunk or None})


ENGINE = (
    "engine",
    "model",
    "token-budget",
    "timeout",
    "max-turns",
    "max-cost-usd",
    "prompt-file",
    "dangerously-skip-permissions",
)


@learn_task(iterable=["session", "issue"], help=_help(*TARGET, *ENGINE))
def run_learn(
    c: Context,
    issue: list[str] | None = None,
    session: list[str] | None = None,
    repo: str = ".",
    run_id: str = "",
    label: str = "",
    not_learned: bool = False,
    limit: int = 10,
    engine: str = "",
    model: str = "",
    token_budget: str = "",
    timeout: str = "",
    max_turns: str = "",
    max_cost_usd: str = "",
    prompt_file: str = "",
    dangerously_skip_permissions: bool = False,
) -> None:
    """Download and digest the session(s), run the learn engine, validate what it wrote."""
    where: dict[str, Any] = {"issue": issue, "session": session, "repo": repo, "run_id": run_id}
    where |= {"label": label, "not_learned": not_learned, "limit": limit}
    _step(steps.run_learn, where, _engine_cli(locals()))


def _engine_cli(given: dict[str, Any]) -> dict[str, Any]:
    """The engine settings given on the command line. Numbers come as text and the settings
    check them, so ``--token-budget abc`` is a usage error (exit 2); "" means not given (and
    ``--max-turns 0`` is a value: no cap)."""
    return {
        "engine": given["engine"] or None,
        "model": given["model"] or None,
        "token_budget": given["token_budget"] or None,
        "timeout": given["timeout"] or None,
        "max_turns": given["max_turns"] or None,
        "max_cost_usd": given["max_cost_usd"] or None,
        "prompt_file": given["prompt_file"] or None,
        "skip_permissions": given["dangerously_skip_permissions"] or None,
    }


@learn_task(iterable=["session", "issue"], help=_help(*TARGET, "dry-run", "push"))
def publish(
    c: Context,
    issue: list[str] | None = None,
    session: list[str] | None = None,
    repo: str = ".",
    run_id: str = "",
    label: str = "",
    not_learned: bool = False,
    limit: int = 10,
    dry_run: bool = False,
    push: bool = False,
) -> None:
    """Commit docs/learned/**, push, open/update the draft PR — or comment when nothing changed."""
    where: dict[str, Any] = {"issue": issue, "session": session, "repo": repo, "run_id": run_id}
    where |= {"label": label, "not_learned": not_learned, "limit": limit}
    _step(steps.publish, where, {"push": push or None}, dry_run=dry_run)


@learn_task(
    iterable=["session", "issue"], help=_help(*TARGET, "force", *ENGINE, "trunk", "dry-run", "push")
)
def learn(
    c: Context,
    issue: list[str] | None = None,
    session: list[str] | None = None,
    repo: str = ".",
    run_id: str = "",
    label: str = "",
    not_learned: bool = False,
    limit: int = 10,
    force: bool = False,
    engine: str = "",
    model: str = "",
    token_budget: str = "",
    timeout: str = "",
    max_turns: str = "",
    max_cost_usd: str = "",
    prompt_file: str = "",
    dangerously_skip_permissions: bool = False,
    trunk: str = "",
    dry_run: bool = False,
    push: bool = False,
) -> None:
    """checkout-branch, run-learn and publish, in order: what people run locally.

    Every input is checked before anything is created, and the three steps run under one hold
    of the repository's lock. With --dry-run nothing is left behind (and GitHub is only read).
    """
    where: dict[str, Any] = {"issue": issue, "session": session, "repo": repo, "run_id": run_id}
    where |= {"label": label, "not_learned": not_learned, "limit": limit, "dry_run": dry_run}
    engine_cli = _engine_cli(locals())
    out = Output()
    with _errors(out):
        git = Git.open(Path(repo).resolve())
        _selection(_issues(issue), where)  # checks the plans and the selection
        if session:
            discover(list(_session_paths(git.repo, session)))
        everything = {**engine_cli, "trunk": trunk or None, "push": push or None}
        resolved = settings.load(git.repo, everything, warn=_warn_once(out))
        lock = repo_lock(git.common_dir(), resolved.lock_wait)
    with _errors(out), lock:
        _step(steps.checkout_branch, {**where, "force": force}, {"trunk": trunk or None})
        _step(steps.run_learn, where, engine_cli)
        _step(steps.publish, where, {"push": push or None}, dry_run=dry_run)


@learn_task(iterable=["session", "issue"], help=_help(*TARGET, "reason"))
def mark_failed(
    c: Context,
    issue: list[str] | None = None,
    session: list[str] | None = None,
    repo: str = ".",
    run_id: str = "",
    label: str = "",
    not_learned: bool = False,
    limit: int = 10,
    reason: str = "the workflow failed or was cancelled",
) -> None:
    """Record learn_status: failed and remove a half-made branch (the workflow's last step)."""
    where: dict[str, Any] = {"issue": issue, "session": session, "repo": repo, "run_id": run_id}
    where |= {"label": label, "not_learned": not_learned, "limit": limit}
    _step(steps.mark_failed, where, reason=reason)


@learn_task(
    help={
        **_help("repo", "trunk", "all"),
        "push": "work on origin: its trunk and the open learn PRs' branches (needs a GitHub token)",
    }
)
def refresh(
    c: Context, repo: str = ".", push: bool = False, trunk: str = "", all: bool = False
) -> None:
    """Regenerate docs/learned/index.md on the trunk; rebuild learn branches that conflict.

    Locally: the trunk and the learn-local-* branches. With --push: origin's trunk and the branches
    of the open learn PRs (what the workflow runs when docs/learned/** changes on the trunk).
    """
    out = Output()
    with _errors(out):
        git = Git.open(Path(repo).resolve())
        resolved = settings.load(git.repo, {"push": push or None, "trunk": trunk or None})
        deps = steps.Deps(resolved, out, git, steps.github_factory(git, resolved))
        done = steps.refresh(git, deps, push=bool(resolved.push), everything=all)
        rebuilt = ", ".join(done.rebuilt) or "none"
        out.ok(f"refresh of {done.trunk} done; learn branches rebuilt: {rebuilt}")


@learn_task(
    positional=["path"],
    help={**_help("out", "token-budget"), "path": "transcript file or folder; several: a,b,c"},
)
def digest(c: Context, path: str, out: str = ".learn/digest", token_budget: str = "") -> None:
    """Write the digest of session transcript(s) and print a one-line summary.

    ``--out`` must be a new or empty folder, or the output of an earlier digest.
    """
    output = Output()
    with _errors(output):
        paths = [Path(p) for p in path.split(",") if p.strip()]
        if not paths:
            raise UsageError("no transcript given", fix="invoke digest PATH[,PATH...] [--out DIR]")
        budget = settings.load(Path.cwd(), {"token_budget": token_budget or None}).token_budget
        files = discover(paths)
        folder = Path(out)
        check_out_folder(folder)
        created = not folder.exists()
        try:
            result = build_digest(files, folder, DigestOptions(token_budget=budget))
        except BaseException:  # disk full, interrupted: no partial digest is left
            _remove_digest(folder, created)
            raise
        output.info(result.summary())
        for chunk in result.chunks:
            output.info(f"  {chunk}")


def _remove_digest(folder: Path, created: bool) -> None:
    if created:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for name in ("manifest.json", "events.jsonl"):
        (folder / name).unlink(missing_ok=True)
    for chunk in folder.glob("digest-*.md"):
        chunk.unlink(missing_ok=True)


@learn_task(help=_help("repo"))
def clean(c: Context, repo: str = ".") -> None:
    """Remove stale learn runs: run folders, our worktrees, learn-local-* branches without
    commits of their own (branches with docs are kept)."""
    out = Output()
    with _errors(out):
        git = Git.open(Path(repo).resolve())
        resolved = settings.load(git.repo, {}, warn=_warn_once(out))
        with repo_lock(git.common_dir(), resolved.lock_wait):
            clean_repo(git, out)


@learn_task(help=INIT_HELP)
def init(
    c: Context,
    repo: str = ".",
    on_land: bool = False,
    source: str = "",
    ref: str = "",
    force: bool = False,
) -> None:
    """Write .github/workflows/learn-async.yml: the learn-async action, pinned by commit SHA."""
    out = Output()
    with _errors(out):
        root = Git.open(Path(repo).resolve()).repo
        pin = pins.resolve(source, ref)
        out.info(f"learn-async v{pin.version} at {pin.repo}@{pin.sha} (from {pin.found_in})")
        changes = workflow.init(root, pin, on_land=on_land, force=force)
        for change in changes:
            out.ok(change)
        if not changes:
            out.ok(f"{workflow.WORKFLOW_PATH} is already up to date")
        out.info(
            "next: commit the workflow; add the ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN) "
            "secret; enable 'Allow GitHub Actions to create and approve pull requests' or add a "
            "LEARN_ASYNC_PAT secret"
        )


@learn_task(help=_help("issue", "repo", "event"))
def find_plan(c: Context, issue: str = "", repo: str = ".", event: str = "") -> None:
    """Name the plan to learn: --issue, else the plans a merged pull request (the event) implements.

    Writes the step output ``issue`` (space-separated when several; empty when there is none:
    not an error).
    """
    out = Output()
    with _errors(out):
        if issue:
            number = plan.parse_issue_number(issue)
            actions.write_outputs({"issue": number})
            out.ok(f"plan #{number}")
            return
        path = event or os.environ.get("GITHUB_EVENT_PATH", "")
        if not path:
            raise UsageError("which plan?", fix="pass --issue N (or --event EVENT.json)")
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the event {path}: {exc}") from None
        git = Git.open(Path(repo).resolve())
        resolved = settings.load(git.repo, {})
        gh = GitHub(GitHubSettings.from_env(git.remote_url(), resolved))
        found = land.find_plan(data, gh.settings.repo, gh)
        actions.write_outputs({"issue": " ".join(map(str, found.issues))})  # several: together
        if not found.issues:
            actions.write_outputs({"operation": "skipped"})
            actions.write_summary(messages.no_plan_summary(found.why))
            out.ok(f"nothing to learn: {found.why}")
        else:
            out.ok(found.why)


@learn_task(iterable=["issue"], help=_help("issue", "repo", "ref", "model", "engine", "wait"))
def dispatch(
    c: Context,
    issue: list[str] | None = None,
    repo: str = ".",
    ref: str = "",
    model: str = "",
    engine: str = "",
    wait: bool = False,
) -> None:
    """Start the learn-async workflow for a plan issue, or several learned together into one PR
    (and with --wait, follow it)."""
    out = Output()
    with _errors(out):
        numbers = _issues(issue)
        if not numbers:
            raise UsageError("which plan?", fix="pass --issue N")
        git = Git.open(Path(repo).resolve())
        resolved = settings.load(git.repo, {"model": model or None, "engine": engine or None})
        gh = GitHub(GitHubSettings.from_env(git.remote_url(), resolved))
        request = Request(
            issues=tuple(numbers),
            ref=ref or gh.default_branch(),
            model=resolved.model if model else None,
            engine=engine or None,
            wait=wait,
            poll_seconds=resolved.dispatch_poll,
        )
        run_dispatch(gh, request, out)


ns = Collection(
    learn,
    checkout_branch,
    run_learn,
    publish,
    mark_failed,
    refresh,
    find_plan,
    digest,
    clean,
    init,
    dispatch,
)
