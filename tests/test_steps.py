"""The steps over FakeGit: fast checks of the logic and of failure handling."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from learn import plan_header as plan
from learn import steps
from learn.console import Output
from learn.errors import GitError, GitHubError, NotReady, PathViolation, TranscriptError, UsageError
from learn.gateways.github import ArtifactInfo, Issue
from learn.settings import Settings
from learn.steps import state
from tests.fakes.git import FakeGit
from tests.fakes.github_gateway import FakeGitHubGateway
from tests.support.github_world import RUN_ID, SESSION_ID, artifact_zip, plan_body
from tests.support.repos import EXAMPLES

EXAMPLE = EXAMPLES / "fix-failing-test.jsonl"


def setup(
    tmp_path: Path, example: Path = EXAMPLE
) -> tuple[steps.Target, FakeGit, Output, io.StringIO]:
    buf = io.StringIO()
    target = steps.Target(tmp_path, sessions=(example,))
    return target, FakeGit(tmp_path), Output(buf, actions=False), buf


def deps(out: Output, git: FakeGit, settings: Settings | None = None) -> steps.Deps:
    return steps.Deps(settings or Settings(engine="offline"), out, git, env={})


def test_checkout_then_learn_then_publish(tmp_path: Path) -> None:
    target, git, out, buf = setup(tmp_path)
    run = steps.checkout_branch(target, deps(out, git, Settings()))
    assert run.branch.startswith("learn-local-") and run.worktree.is_dir()
    assert ("ignore_locally", ("/.learn/",)) in git.calls
    run = steps.run_learn(target, deps(out, git, Settings(engine="offline")))
    assert run.status == "learned" and run.docs and "docs/learned/index.md" not in run.docs
    run = steps.publish(target, deps(out, git, Settings()))
    commit = next(args for name, args in git.calls if name == "commit")
    # exactly the validated docs, never a folder, and never the index (refresh builds it)
    assert commit[0] == run.docs and "docs/learned/index.md" not in commit[0]
    assert all(p.startswith("docs/learned/") and "/." not in p for p in commit[0])
    assert run.status == "published" and not git.pushed
    assert "committed 1 file(s)" in buf.getvalue()


def test_engine_writing_outside_docs_fails_and_nothing_is_committed(tmp_path: Path) -> None:
    target, git, out, _ = setup(tmp_path)
    run = steps.checkout_branch(target, deps(out, git, Settings()))
    (run.worktree / "README.md").write_text("pwned")
    with pytest.raises(PathViolation, match=r"README\.md"):
        steps.run_learn(target, deps(out, git, Settings(engine="offline")))
    with pytest.raises(NotReady, match="run-learn has not completed"):
        steps.publish(target, deps(out, git, Settings()))
    (run.worktree / "README.md").unlink()
    steps.run_learn(target, deps(out, git, Settings(engine="offline")))
    (run.worktree / "app.py").write_text("changed after run-learn")
    with pytest.raises(PathViolation, match=r"app\.py"):  # publish checks again
        steps.publish(target, deps(out, git, Settings()))
    assert not any(name == "commit" for name, _ in git.calls)


def test_push_failure_keeps_the_commit(tmp_path: Path) -> None:
    target, git, out, _ = setup(tmp_path)
    git.fail["push"] = GitError("git push failed: rejected")
    steps.checkout_branch(target, deps(out, git, Settings()))
    steps.run_learn(target, deps(out, git, Settings(engine="offline")))
    with pytest.raises(GitError, match="rejected"):
        steps.publish(target, deps(out, git, Settings(push=True)))
    run = state.load(tmp_path, target.key())
    assert run.commit and not run.pushed  # the docs are committed on the branch, not lost
    del git.fail["push"]
    run = steps.publish(target, deps(out, git, Settings(push=True)))  # a re-run completes
    assert run.pushed and run.status == "published" and git.pushed == [run.branch]
    assert sum(name == "commit" for name, _ in git.calls) == 1


def test_nothing_to_learn_removes_the_empty_branch(tmp_path: Path) -> None:
    target, git, out, buf = setup(tmp_path, EXAMPLES / "nothing-to-learn.jsonl")
    run = steps.checkout_branch(target, deps(out, git, Settings()))
    steps.run_learn(target, deps(out, git, Settings(engine="offline")))
    steps.publish(target, deps(out, git, Settings()))
    assert run.branch not in git.branches and "removed the empty branch" in buf.getvalue()


def test_tasks_need_a_session_and_a_started_run(tmp_path: Path) -> None:
    _, git, out, _ = setup(tmp_path)
    with pytest.raises(UsageError, match="pass --issue N or --session"):
        steps.checkout_branch(steps.Target(tmp_path), deps(out, git, Settings()))
    with pytest.raises(UsageError, match="run `invoke checkout-branch`"):
        steps.run_learn(steps.Target(tmp_path, sessions=(EXAMPLE,)), deps(out, git))


# -- issue mode over the in-memory GitHub ------------------------------------------------------
def issue_world(
    tmp_path: Path, body: str
) -> tuple[steps.Target, steps.Deps, FakeGitHubGateway, FakeGit]:
    gh = FakeGitHubGateway(
        issues={7: Issue(7, "Plan: slugify", body, "https://github.test/issues/7")},
        runs={str(RUN_ID): [ArtifactInfo(11, f"session-{SESSION_ID}", False, 1)]},
        blobs={11: artifact_zip()},
    )
    out = Output(io.StringIO(), actions=False)
    git = FakeGit(tmp_path, branches={"main": "0" * 40})
    deps = steps.Deps(
        Settings(engine="offline", push=True),
        out,
        git,
        make_github=lambda: gh,
        env={"GITHUB_RUN_ID": "55"},
    )
    return steps.Target(tmp_path, issue=7), deps, gh, git


def status_of(gh: FakeGitHubGateway) -> str:
    header = plan.read_header(gh.issues[7].body)
    assert header is not None
    return str(header["learn_status"])


def test_issue_without_session_fields_comments_and_fails(tmp_path: Path) -> None:
    target, deps, gh, git = issue_world(
        tmp_path, plan_body(last_remote_impl_run_id=None, last_remote_impl_session_id=None)
    )
    with pytest.raises(TranscriptError, match="no session fields"):
        steps.checkout_branch(target, deps)
    assert status_of(gh) == "failed" and len(gh.comments[7]) == 1
    assert not any(name == "add_worktree" for name, _ in git.calls)


def test_pr_failure_then_rerun_opens_one_pr(tmp_path: Path) -> None:
    target, deps, gh, git = issue_world(tmp_path, plan_body())
    steps.checkout_branch(target, deps)
    assert status_of(gh) == "pending"
    steps.run_learn(target, deps)
    gh.fail["open_draft_pr"] = GitHubError("GitHub answered 502 while opening the pull request")
    with pytest.raises(GitHubError):
        steps.publish(target, deps)
    assert git.pushed == ["learn-7-55"]  # the docs were pushed before the PR failed
    del gh.fail["open_draft_pr"]
    run = steps.publish(target, deps)
    assert run.operation == "created" and list(gh.prs) == ["learn-7-55"]
    assert status_of(gh) == "pending_review"
