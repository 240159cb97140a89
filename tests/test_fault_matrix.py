"""What a real team hits on day one, and what a hostile tester tries: one row per case.

Each row runs a task as its own process (as CI and people run it) on a real clone with a bare
remote — and, for plan issues, PyGithub against the loopback GitHub fake — then checks: the exit
code, the message, no traceback, the person's uncommitted work untouched, the plan's
``learn_status`` (issue mode) and what is left on disk. Adding a case is adding a row.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from learn import plan_header
from learn.steps.lock import LOCK_NAME
from tests.fakes.github_api import FakeGitHub, make_zip
from tests.support.github_world import (
    RUN_ID,
    SESSION_ID,
    TOKEN,
    World,
    artifact_zip,
    plan_body,
)
from tests.support.processes import Done, make_invoke
from tests.support.repos import EXAMPLES, GIT_ENV, ROOT, Repo, git, make_repo

FIX = str(EXAMPLES / "fix-failing-test.jsonl")
DISK_FULL = str(Path(__file__).parent / "support" / "disk_full")
SECRET = "ghp_" + "a1B2c3D4" * 4 + "e5F6"  # the shape of a GitHub token (synthetic)
WIP = "print('work in progress')\n"  # the person's uncommitted change, never to be lost


@dataclass
class Ctx:
    repo: Repo
    tmp: Path
    invoke: Callable[..., Done]
    world: World | None = None
    held: list[int] = field(default_factory=list)  # open lock files

    def run(self, argv: tuple[str, ...], env: dict[str, str] | None = None) -> Done:
        ours = sorted(self.repo.path.glob(".learn/runs/*/worktree"))
        where = {"repo": self.repo.path, "fix": FIX, "tmp": self.tmp, "worktree": (ours or [""])[0]}
        args = tuple(a.format(**where) for a in argv)
        if self.world is not None and args and not args[0].startswith("-"):
            return self.world.task(args[0], *args[1:], env=env)
        return self.invoke(*args, env={"LEARN_ENGINE": "offline", **(env or {})})

    def learn_branches(self) -> list[str]:
        return [b for b in self.repo.branches() if b.startswith("learn-")]

    def worktrees(self) -> list[str]:
        lines = self.repo.git("worktree", "list", "--porcelain").splitlines()
        return [ln.removeprefix("worktree ") for ln in lines if ln.startswith("worktree ")]

    def runs(self) -> list[str]:
        runs = self.repo.path / ".learn" / "runs"
        return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []


# -- what is left on disk ---------------------------------------------------------------------
def nothing_left(ctx: Ctx) -> None:
    assert not ctx.learn_branches(), ctx.learn_branches()
    assert ctx.worktrees() == [str(ctx.repo.path)], ctx.worktrees()
    assert not ctx.runs(), ctx.runs()


def docs_branch_left(ctx: Ctx) -> None:
    """Success: one learn branch with the docs, no worktree of ours, nothing hidden committed."""
    (branch,) = ctx.learn_branches()
    files = ctx.repo.git("diff", "--name-only", f"trunk...{branch}").split()
    assert files and all(f.startswith("docs/learned/") for f in files), files
    assert not any("/." in f or f.endswith(".tmp") for f in files), files
    assert not [w for w in ctx.worktrees() if "/.learn/" in w], ctx.worktrees()


def run_kept(ctx: Ctx) -> None:
    """Issue mode keeps the run for a re-run (and says so): branch, worktree, state."""
    assert ctx.learn_branches() and ctx.runs()


def no_local_change(ctx: Ctx) -> None:
    assert not ctx.learn_branches() and not ctx.runs()


# -- setups ------------------------------------------------------------------------------------
def on_trunk(rel: str, text: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        path = ctx.repo.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        ctx.repo.git("add", rel)
        ctx.repo.git("commit", "--quiet", "-m", f"add {rel}")
        ctx.repo.git("push", "--quiet", "origin", "trunk")

    return setup


def docs_symlink_outside(ctx: Ctx) -> None:
    (ctx.tmp / "outside").mkdir()
    (ctx.repo.path / "docs").mkdir()
    (ctx.repo.path / "docs" / "learned").symlink_to(ctx.tmp / "outside")
    ctx.repo.git("add", "docs/learned")
    ctx.repo.git("commit", "--quiet", "-m", "docs elsewhere")
    ctx.repo.git("push", "--quiet", "origin", "trunk")


def outside_untouched(ctx: Ctx) -> None:
    nothing_left(ctx)
    assert not list((ctx.tmp / "outside").iterdir())


def task_first(*argv: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        done = ctx.run(argv)
        assert done.code == 0, done.text

    return setup


def hold_the_lock(ctx: Ctx) -> None:
    fd = os.open(ctx.repo.path / ".git" / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, f"{os.getpid()}\n".encode())
    ctx.held.append(fd)


def unrelated_out_folder(ctx: Ctx) -> None:
    (ctx.tmp / "out").mkdir()
    (ctx.tmp / "out" / "manifest.json").write_text('{"name": "my project"}\n')
    (ctx.tmp / "out" / "digest-001.md").write_text("my notes\n")


def unrelated_files_kept(ctx: Ctx) -> None:
    assert (ctx.tmp / "out" / "manifest.json").read_text() == '{"name": "my project"}\n'
    assert (ctx.tmp / "out" / "digest-001.md").read_text() == "my notes\n"


def a_file(ctx: Ctx) -> None:
    (ctx.tmp / "afile").write_text("keep me\n")


def hidden_tmp_in_docs(ctx: Ctx) -> None:
    task_first("checkout-branch", "--session", "{fix}", "--repo", "{repo}")(ctx)
    (worktree,) = (ctx.repo.path / ".learn" / "runs").glob("*/worktree")
    (worktree / "docs" / "learned").mkdir(parents=True)
    (worktree / "docs" / "learned" / ".x.md.tmp").write_text("half a doc")


def binary_transcript(ctx: Ctx) -> None:
    (ctx.tmp / "binary.jsonl").write_bytes(bytes(range(256)) * 40)


def failing_post_checkout_hook(ctx: Ctx) -> None:
    hook = ctx.repo.path / ".git" / "hooks" / "post-checkout"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)


def other_worktree_missing(ctx: Ctx) -> None:
    ctx.repo.git("worktree", "add", "--quiet", "-b", "feature", str(ctx.tmp / "feature"))
    (ctx.tmp / "feature").rename(ctx.tmp / "feature-on-a-usb-stick")


def other_worktree_still_known(ctx: Ctx) -> None:
    docs_branch_left(ctx)
    (ctx.tmp / "feature-on-a-usb-stick").rename(ctx.tmp / "feature")
    assert str(ctx.tmp / "feature") in ctx.repo.git("worktree", "list")
    assert git(ctx.tmp / "feature", "rev-parse", "--abbrev-ref", "HEAD").strip() == "feature"


def inside_our_worktree(ctx: Ctx) -> None:
    task_first("checkout-branch", "--session", "{fix}", "--repo", "{repo}")(ctx)


def empty_repository(ctx: Ctx) -> None:
    git(ctx.tmp, "init", "--quiet", "-b", "main", str(ctx.tmp / "empty"))


def user_switched_to_the_learn_branch(ctx: Ctx) -> None:
    task_first("learn", "--session", "{fix}", "--repo", "{repo}")(ctx)
    (branch,) = ctx.learn_branches()
    ctx.repo.git("switch", "--quiet", branch)


def pyproject(text: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        (ctx.repo.path / "pyproject.toml").write_text(text)

    return setup


def plan(**fields: object) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        assert ctx.world is not None
        ctx.world.issue.body = plan_body(**fields)

    return setup


def github_fails(method: str, path: str, status: int) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        assert ctx.world is not None
        ctx.world.gh.fail(method, path, status, times=None)

    return setup


def rate_limited(ctx: Ctx) -> None:
    assert ctx.world is not None
    ctx.world.gh.fail_primary_rate_limit("GET", r"/issues/\d+$", reset=1_900_000_000, times=None)


def artifact(data: bytes) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        assert ctx.world is not None
        ctx.world.repo.runs[RUN_ID].artifacts[0].data = data

    return setup


def no_partial_download(ctx: Ctx) -> None:
    run_kept(ctx)
    assert not list(ctx.repo.path.glob(".learn/runs/*/artifacts/*.zip"))
    assert not list(ctx.repo.path.glob(".learn/runs/*/sessions/*"))


def no_partial_digest(ctx: Ctx) -> None:
    nothing_left(ctx)
    assert not list(ctx.repo.path.glob(".learn/runs/*/digest"))


def disk_full(pattern: str, room: int = 200) -> dict[str, str]:
    path = os.pathsep.join([DISK_FULL, str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path, "FAULT_ENOSPC": pattern, "FAULT_ENOSPC_AFTER": str(room)}


def plan_is(body: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        assert ctx.world is not None
        ctx.world.issue.body = body

    return setup


def no_exclude_entry(ctx: Ctx) -> None:
    exclude = ctx.repo.path / ".git" / "info" / "exclude"
    assert ".learn" not in (exclude.read_text() if exclude.exists() else "")


# -- the table ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    code: int
    message: str
    setup: Callable[[Ctx], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    left: Callable[[Ctx], None] = nothing_left
    issue: bool = False  # a plan issue on the GitHub fake (the task gets --issue N --repo)
    status: str | None = None  # the plan's learn_status afterwards
    absent: tuple[str, ...] = ()  # text that must not be in the output


LEARN = ("learn", "--session", "{fix}", "--repo", "{repo}")
I = True  # noqa: E741 — issue mode, for short rows

CASES = [
    # 1. a private origin: tests/test_private_origin.py (git smart HTTP that needs the token)
    # 2. files already in docs/learned/ never block a run; warnings name the real path
    Case("2-readme-on-trunk", LEARN, 0, "{repo}/docs/learned/README.md (already on trunk)",
         on_trunk("docs/learned/README.md", "# Our docs\n"), left=docs_branch_left,
         absent=("worktree/docs/learned/README.md",)),
    Case("2-other-front-matter", LEARN, 0, "left as it is",
         on_trunk("docs/learned/team/style.md", "---\nowner: me\n---\n# Style\n"),
         left=docs_branch_left),
    Case("2-reviewed-doc-trips-the-secret-scan", LEARN, 0, "still contains a secret",
         on_trunk("docs/learned/ops/keys.md", f"---\ntitle: t\nread_when: [x]\n---\nkey {SECRET}\n"),
         left=docs_branch_left),
    Case("2-issue-mode-readme-on-trunk", (), 0, "already on trunk",
         on_trunk("docs/learned/README.md", "# Our docs\n"), issue=I, status="pending_review",
         left=lambda ctx: None),
    # 3. docs/learned is a symlink leading outside the repository
    Case("3-docs-symlink-outside", LEARN, 1, "symlink leading outside the repository",
         docs_symlink_outside, left=outside_untouched),
    # 4. publish before run-learn: refused, the plan's status unchanged
    Case("4-publish-without-run-learn", ("publish",), 2, "run-learn has not completed",
         task_first("checkout-branch"), issue=I, status="pending", left=run_kept),
    # 5. another run holds the repository's lock
    Case("5-another-run-in-progress", LEARN, 3,
         f"another learn run is in progress in this repository (pid {os.getpid()})",
         hold_the_lock, env={"LEARN_LOCK_WAIT": "0"}, left=no_local_change),
    # 6. formerly tracebacks
    Case("6-disk-full-writing-the-digest", LEARN, 1, "the disk is full",
         env=disk_full("*/digest/digest-*.md"), left=no_partial_digest),
    Case("6-disk-full-writing-the-digest-task", ("digest", "{fix}", "--out", "{tmp}/d"), 1,
         "the disk is full", env=disk_full("*/d/*"),
         left=lambda ctx: None if not (ctx.tmp / "d").exists() else pytest.fail("partial digest")),
    Case("6-disk-full-downloading-the-artifact", (), 1, "the disk is full",
         env=disk_full("*/artifacts/*.zip"), issue=I, status="failed", left=no_partial_download),
    Case("6-digest-out-is-a-file", ("digest", "{fix}", "--out", "{tmp}/afile"), 2,
         "is a file, not a folder", a_file, left=lambda ctx: None),
    Case("6-token-budget-abc", (*LEARN, "--token-budget", "abc"), 2,
         "--token-budget must be a whole number, not 'abc'"),
    Case("6-tool-is-a-string", LEARN, 0, "committed", pyproject('tool = "x"\n'),
         left=docs_branch_left),
    Case("6-run-id-abc", (), 1, "workflow run id 'abc' is not a number",
         plan(last_remote_impl_run_id="abc"), issue=I, status="failed"),
    # 7. data loss and leftovers
    Case("7-digest-out-with-unrelated-files", ("digest", "{fix}", "--out", "{tmp}/out"), 2,
         "is not empty and is not an earlier digest's folder", unrelated_out_folder,
         left=unrelated_files_kept),
    Case("7-hidden-temp-file-in-docs", LEARN, 0, "not committing hidden or temporary file(s)",
         hidden_tmp_in_docs, left=docs_branch_left),
    Case("7-bad-transcript", ("learn", "--session", "{tmp}/binary.jsonl", "--repo", "{repo}"), 1,
         "is a JSON transcript entry", binary_transcript),
    Case("7-bad-engine-name", (*LEARN, "--engine", "gpt"), 2, "unknown engine 'gpt'"),
    Case("7-bad-model", (*LEARN, "--engine", "claude", "--model", "gpt-4"), 2,
         "'gpt-4' is not a Claude model id"),
    Case("7-failing-post-checkout-hook", LEARN, 0, "committed", failing_post_checkout_hook,
         left=docs_branch_left),
    Case("7-other-worktree-temporarily-missing", LEARN, 0, "committed", other_worktree_missing,
         left=other_worktree_still_known),
    Case("7-dry-run-leaves-nothing", (*LEARN, "--dry-run"), 0, "dry run: nothing committed",
         left=lambda ctx: (nothing_left(ctx), no_exclude_entry(ctx))),
    Case("7-issue-dry-run-writes-nothing-to-github", ("learn", "--dry-run"), 0, "dry run",
         issue=I, status="not_started"),
    Case("7-issue-dry-run-of-a-learned-plan", ("learn", "--dry-run"), 0, "already learned",
         plan(learn_status="pending_review"), issue=I, status="pending_review"),
    # 8. messages that say what happened
    Case("8-github-keeps-answering-502", (), 1, "GitHub answered 502 while reading issue",
         github_fails("GET", r"/issues/\d+$", 502), issue=I, status="not_started",
         absent=("RetryError", "Retrying", "failed with 502")),
    Case("8-rate-limit-403", (), 1, "rate limit exceeded while reading issue", rate_limited,
         issue=I, status="not_started", absent=("RetryError", "Retrying", "cannot reach")),
    Case("8-no-commits-yet", ("learn", "--session", "{fix}", "--repo", "{tmp}/empty"), 1,
         "has no commits yet", empty_repository, left=lambda ctx: None),
    Case("8-offline-engine-ignores-the-model", (*LEARN, "--engine", "offline", "--model", "gpt-4"),
         0, "committed", left=docs_branch_left),
    Case("8-user-is-on-the-learn-branch", LEARN, 1, "is checked out in {repo}",
         user_switched_to_the_learn_branch, left=lambda ctx: None, absent=("fatal:",)),
    Case("8-typo-in-a-learn-variable", LEARN, 0, "did you mean LEARN_ENGINE?",
         env={"LEARN_ENIGNE": "offline"}, left=docs_branch_left),
    Case("8-typo-in-tool-learn", LEARN, 0, "did you mean token-budget?",
         pyproject("[tool.learn]\ntoken_budgte = 5000\n"), left=docs_branch_left),
    Case("8-tool-learn-is-a-number", LEARN, 2, "[tool] learn", pyproject("[tool]\nlearn = 5\n")),
    Case("8-artifact-cap-negative", LEARN, 2, "LEARN_ARTIFACT_CAP_MB must be at least 1",
         env={"LEARN_ARTIFACT_CAP_MB": "-1"}),
    # found beyond the issue
    Case("run-from-inside-our-worktree",
         ("learn", "--session", "{fix}", "--repo", "{worktree}"), 0, "continuing run local-",
         inside_our_worktree, left=docs_branch_left),
    # the clean task
    Case("clean-with-nothing-to-clean", ("clean", "--repo", "{repo}"), 0, "nothing to clean"),
    Case("clean-removes-a-stale-run", ("clean", "--repo", "{repo}"), 0, "removed branch learn-local-",
         task_first("checkout-branch", "--session", "{fix}", "--repo", "{repo}")),
    Case("clean-keeps-a-branch-with-docs", ("clean", "--repo", "{repo}"), 0, "removed run folder",
         task_first(*LEARN), left=docs_branch_left),
    # the cases covered before (tests/test_tasks_integration.py, tests/test_github_scenarios.py)
    Case("missing-session", ("learn", "--session", "{tmp}/nope.jsonl", "--repo", "{repo}"), 2,
         "session path not found"),
    Case("not-a-repository", ("learn", "--session", "{fix}", "--repo", "{tmp}"), 2,
         "is not inside a git repository", left=lambda ctx: None),
    Case("run-learn-before-checkout", ("run-learn", "--session", "{fix}", "--repo", "{repo}"), 2,
         "run `invoke checkout-branch`"),
    Case("issue-not-a-plan", (), 2, "is not a plan", plan_is("Just a bug report."), issue=I),
    Case("issue-no-session-fields", (), 1, "no session fields",
         plan(last_remote_impl_run_id=None, last_remote_impl_session_id=None), issue=I,
         status="failed"),
    Case("issue-zip-path-traversal", (), 1, "path traversal",
         artifact(make_zip({"../../evil.jsonl": b"{}\n"})), issue=I, status="failed",
         left=run_kept),
    Case("issue-bad-token", (), 2, "rejected the token", env={"GITHUB_TOKEN": "wrong"}, issue=I,
         status="not_started"),
    Case("issue-learned", (), 0, "created draft pull request", issue=I, status="pending_review",
         left=lambda ctx: None),
]  # fmt: skip


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Ctx]:
    context = Ctx(make_repo(tmp_path), tmp_path, make_invoke(tmp_path))
    yield context
    for fd in context.held:
        os.close(fd)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, ctx: Ctx) -> None:
    (ctx.repo.path / "app.py").write_text(WIP)  # uncommitted work that must survive
    if case.issue:
        with FakeGitHub(tokens={TOKEN}) as gh:
            fake = gh.add_repo("acme/widgets", default_branch="trunk")
            issue = fake.add_issue(title="Plan: add slugify", body=plan_body())
            fake.add_run(RUN_ID).add_artifact(f"session-{SESSION_ID}", artifact_zip())
            ctx.world = World(gh, fake, ctx.repo, issue.number, ctx.invoke)
            done = _run(case, ctx)
            if case.status is not None:
                assert ctx.world.header["learn_status"] == case.status, done.text
    else:
        done = _run(case, ctx)
    assert done.code == case.code, done.text
    message = case.message.format(repo=ctx.repo.path, tmp=ctx.tmp)
    assert message in done.text, done.text
    for text in ("Traceback", *case.absent):
        assert text not in done.text, done.text
    if (ctx.repo.path / "app.py").exists():
        assert (ctx.repo.path / "app.py").read_text() == WIP  # nothing of the person's lost
    case.left(ctx)


def _run(case: Case, ctx: Ctx) -> Done:
    if case.setup is not None:
        case.setup(ctx)
    argv = case.argv or ("learn",)
    return ctx.run(argv, case.env)


def test_three_concurrent_runs_wait_for_each_other(ctx: Ctx) -> None:
    """Three `learn` processes at once on one repository: each waits for the lock; one branch,
    one commit, no traceback."""
    args = [a.format(repo=ctx.repo.path, fix=FIX) for a in LEARN]
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "LEARN_ENGINE": "offline"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "invoke", "--search-root", str(ROOT), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**env, "LEARN_LOCK_WAIT": "120"},
        )
        for _ in range(3)
    ]
    outputs = [(p.wait(timeout=300), p.stdout.read() if p.stdout else "") for p in procs]
    for code, text in outputs:
        assert code == 0 and "Traceback" not in text, text
    docs_branch_left(ctx)
    (branch,) = ctx.learn_branches()
    assert ctx.repo.git("rev-list", "--count", f"trunk..{branch}").strip() == "1"


@pytest.mark.parametrize("issue", [False, True], ids=["local", "issue"])
def test_ctrl_c_exits_130_after_cleaning_up(ctx: Ctx, issue: bool) -> None:
    """SIGINT while the engine runs: one line, exit 130, the engine's process gone, nothing of
    the run left locally — and with a plan, learn_status: failed."""
    started, pid_file = ctx.tmp / "claude-started", ctx.tmp / "claude-pid"
    claude = ctx.tmp / "claude"
    claude.write_text(f"#!/bin/sh\necho $$ > {pid_file}\ntouch {started}\nexec sleep 60\n")
    claude.chmod(0o755)
    env = {
        **os.environ,
        **GIT_ENV,
        "NO_COLOR": "1",
        "LEARN_ENGINE": "claude",
        "LEARN_CLAUDE_BIN": str(claude),
        "ANTHROPIC_API_KEY": "sk-ant-test",
    }
    with FakeGitHub(tokens={TOKEN}) as gh:
        fake = gh.add_repo("acme/widgets", default_branch="trunk")
        plan_issue = fake.add_issue(title="Plan", body=plan_body())
        fake.add_run(RUN_ID).add_artifact(f"session-{SESSION_ID}", artifact_zip())
        target = ["--issue", str(plan_issue.number)] if issue else ["--session", FIX]
        if issue:
            env.update(GITHUB_TOKEN=TOKEN, GITHUB_REPOSITORY="acme/widgets")
            env.update(GITHUB_API_URL=gh.base_url, LEARN_GITHUB_BACKOFF="0.01")
        argv = ["learn", *target, "--repo", str(ctx.repo.path)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "invoke", "--search-root", str(ROOT), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 120
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        # Let the spawn return (a real Ctrl-C also reaches the CLI: it is in the same group).
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        text = proc.stdout.read() if proc.stdout else ""
        assert code == 130, text
        assert "interrupted" in text and "Traceback" not in text, text
        engine_pid = int(pid_file.read_text())
        deadline = time.monotonic() + 30
        while _running(engine_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(engine_pid), "the engine's process outlived the interrupted run"
        if issue:
            header = plan_header.read_header(fake.issues[plan_issue.number].body or "")
            assert header is not None and header["learn_status"] == "failed"
            assert "interrupted" in str(header["learn_error"])
        else:
            nothing_left(ctx)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")
