"""Plan issues end to end: the tasks as separate processes, PyGithub against FakeGitHub over
loopback HTTP, and a real bare git remote."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.github_api import FakeGitHub, make_zip
from tests.support.github_world import (
    RUN_ID,
    SESSION_ID,
    TOKEN,
    WORKFLOW_RUN,
    World,
    add_plan,
    artifact_zip,
    plan_body,
)
from tests.support.processes import Done
from tests.support.repos import EXAMPLES, Repo, git


@pytest.fixture
def world(repo: Repo, invoke: Callable[..., Done]) -> Iterator[World]:
    with FakeGitHub(tokens={TOKEN}) as gh:
        fake_repo, number = add_plan(gh)
        yield World(gh, fake_repo, repo, number, invoke)


def branch_name(world: World) -> str:
    return f"learn-{world.number}-{WORKFLOW_RUN}"


# -- the main paths ---------------------------------------------------------------------------
def test_draft_pr_created(world: World) -> None:
    before = world.issue.body or ""
    done = world.learn()
    assert done.code == 0, done.text
    pulls = world.repo.open_pulls()
    assert len(pulls) == 1
    pr = pulls[0]
    assert pr.draft and pr.base == "trunk" and pr.head == branch_name(world)
    assert f"#{world.number}" in (pr.body or "")
    assert branch_name(world) in world.clone.remote_branches()
    files = git(world.clone.remote, "diff", "--name-only", f"trunk...{branch_name(world)}").split()
    assert files and all(f.startswith("docs/learned/") for f in files)
    header = world.header
    assert header["learn_status"] == "pending_review" and header["learn_pr"] == pr.number
    assert header["learn_branch"] == branch_name(world) and header["learn_run_id"] == WORKFLOW_RUN
    assert "last_learn_at" in header and "learn_error" not in header
    body = world.issue.body or ""
    assert body.startswith(before.split("<!-- erk")[0]) and body.endswith(
        "Trailing text stays byte for byte.\n"
    )
    assert "t0ken" not in (world.clone.path / ".git" / "config").read_text()  # token never stored
    requests = world.api_requests()
    print(
        f"\nGitHub requests, PR path: {len(requests)} API + "
        f"{sum(r.path.startswith('/_') for r in world.gh.requests)} blob: {requests}"
    )
    assert len(requests) <= 10


def test_no_changes_comments_and_deletes_the_branch(world: World) -> None:
    world.repo.runs[RUN_ID].artifacts[0].data = artifact_zip("nothing-to-learn.jsonl")
    done = world.learn()
    assert done.code == 0, done.text
    assert not world.repo.open_pulls()
    comments = world.issue.comment_bodies()
    assert len(comments) == 1 and "nothing new" in comments[0]
    assert branch_name(world) not in world.clone.remote_branches()
    assert branch_name(world) not in world.clone.branches()
    assert world.header["learn_status"] == "completed_no_changes"
    print(
        f"\nGitHub requests, no-changes path: {len(world.api_requests())}: {world.api_requests()}"
    )


def test_already_learned_is_skipped_then_forced(world: World) -> None:
    world.issue.body = plan_body(learn_status="pending_review", learn_pr=12)
    done = world.learn()
    assert done.code == 0, done.text
    assert "already learned" in done.out and "--force" in done.out
    assert not world.gh.writes() and not world.repo.open_pulls()
    forced = world.learn("--force")
    assert forced.code == 0, forced.text
    assert len(world.repo.open_pulls()) == 1 and world.header["learn_status"] == "pending_review"


def test_pr_already_exists_is_updated(world: World) -> None:
    first = world.learn()
    assert first.code == 0, first.text
    world.issue.body = plan_body()  # learn the same plan in the same workflow run again
    again = world.learn(env={"GITHUB_OUTPUT": str(world.clone.path.parent / "out.txt")})
    assert again.code == 0, again.text
    assert len(world.repo.open_pulls()) == 1
    outputs = (world.clone.path.parent / "out.txt").read_text()
    assert re.search(r"operation<<\w+\n(updated|created)\n", outputs)


# -- no session, bad artifacts -----------------------------------------------------------------
def assert_failed(world: World, done: Done, code: int, message: str) -> None:
    assert done.code == code, done.text
    assert message in done.text and "Traceback" not in done.text
    assert world.header["learn_status"] == "failed"
    assert world.header.get("learn_error")
    assert not [b for b in world.clone.branches() if b.startswith("learn-")]
    assert not [b for b in world.clone.remote_branches() if b.startswith("learn-")]


def test_plan_without_session_fields(world: World) -> None:
    world.issue.body = plan_body(last_remote_impl_run_id=None, last_remote_impl_session_id=None)
    done = world.learn()
    assert_failed(world, done, 1, "no session fields")
    assert "could not learn" in world.issue.comment_bodies()[0]


def test_issue_that_is_not_a_plan(world: World) -> None:
    world.issue.body = "Just a bug report."
    done = world.learn()
    assert done.code == 2 and "is not a plan" in done.text and "Traceback" not in done.text


def test_artifact_missing(world: World) -> None:
    world.repo.runs[RUN_ID].artifacts.clear()
    assert_failed(world, world.learn(), 1, f"artifact session-{SESSION_ID} is not in workflow run")


def test_artifact_expired_flag(world: World) -> None:
    world.repo.runs[RUN_ID].artifacts[0].expired = True
    assert_failed(world, world.learn(), 1, "has expired")


def test_artifact_expired_on_download(world: World) -> None:
    world.gh.fail(
        "GET",
        r"/actions/artifacts/\d+/zip$",
        410,
        times=None,
        body={"message": "Artifact has expired"},
    )
    done = world.learn()
    assert done.code == 1 and "has expired" in done.text
    assert world.header["learn_status"] == "failed"


def test_zip_with_path_traversal(world: World) -> None:
    world.repo.runs[RUN_ID].artifacts[0].data = make_zip(
        {"../../evil.jsonl": b"{}\n", "ok.jsonl": b"{}\n"}
    )
    done = world.learn()
    assert done.code == 1 and "path traversal" in done.text
    assert not (world.clone.path.parent / "evil.jsonl").exists()
    assert world.header["learn_status"] == "failed"


def test_zip_over_the_cap(world: World) -> None:
    big = (EXAMPLES / "fix-failing-test.jsonl").read_bytes() * 40  # ~2 MB, compresses well
    world.repo.runs[RUN_ID].artifacts[0].data = make_zip({"big.jsonl": big})
    done = world.learn(env={"LEARN_ARTIFACT_CAP_MB": "1"})
    assert done.code == 1 and "over the size cap" in done.text
    assert world.header["learn_status"] == "failed"


def test_zip_without_jsonl(world: World) -> None:
    world.repo.runs[RUN_ID].artifacts[0].data = make_zip({"notes.txt": b"hello"})
    done = world.learn()
    assert done.code == 1 and "contains no .jsonl" in done.text


def test_truncated_transcript_still_learns(world: World) -> None:
    raw = (EXAMPLES / "fix-failing-test.jsonl").read_bytes()
    world.repo.runs[RUN_ID].artifacts[0].data = make_zip({"s.jsonl": raw[: len(raw) - 200]})
    done = world.learn()
    assert done.code == 0, done.text
    assert "skipped 1 unreadable line" in done.text
    assert len(world.repo.open_pulls()) == 1


# -- git and GitHub refusing -------------------------------------------------------------------
def test_push_rejected(world: World) -> None:
    hook = world.clone.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected: pushes are not allowed' >&2\nexit 1\n")
    hook.chmod(0o755)
    done = world.learn()
    assert done.code == 1 and "git push failed" in done.text and "Traceback" not in done.text
    assert world.header["learn_status"] == "failed"
    assert branch_name(world) in world.clone.branches()  # the commit with the docs is kept
    hook.unlink()
    again = world.task("publish")  # and the run completes once pushing works
    assert again.code == 0, again.text
    assert world.header["learn_status"] == "pending_review"


def test_pr_creation_forbidden(world: World) -> None:
    world.gh.forbid_pull_request_creation()
    done = world.learn()
    assert done.code == 1, done.text
    assert "Allow GitHub Actions to create and approve pull requests" in done.text
    assert branch_name(world) in world.clone.remote_branches()  # docs are on the pushed branch
    assert world.header["learn_status"] == "failed"
    assert "not permitted" in str(world.header.get("learn_error")) or "may not create" in str(
        world.header["learn_error"]
    )


def test_bad_token(world: World) -> None:
    done = world.learn(env={"GITHUB_TOKEN": "wrong"})
    assert done.code == 2 and "rejected the token" in done.text and "Traceback" not in done.text


def test_missing_token(world: World) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    done = world.invoke(
        "learn",
        "--issue",
        str(world.number),
        "--repo",
        str(world.clone.path),
        env={**env, "GITHUB_TOKEN": "", "GH_TOKEN": "", "GITHUB_REPOSITORY": "acme/widgets"},
    )
    assert done.code == 2 and "no GitHub token" in done.text


def test_rate_limit_reports_the_reset_time(world: World) -> None:
    world.gh.fail_primary_rate_limit(
        "GET", r"/issues/\d+$", reset=1_900_000_000, times=None, status=429
    )
    done = world.learn()
    assert done.code == 1 and "rate limit" in done.text and "resets at" in done.text


@pytest.mark.parametrize("retry_after", [None, 90])
def test_a_secondary_rate_limit_says_when_to_try_again(
    world: World, retry_after: int | None
) -> None:
    """Not the primary limit's reset (its headers come with every answer)."""
    fault = world.gh.fail_secondary_rate_limit("GET", r"/issues/\d+$", times=None, status=403)
    if retry_after is None:
        del fault.headers["retry-after"]
    else:
        fault.headers["retry-after"] = str(retry_after)
    done = world.learn(env={"LEARN_GITHUB_RETRIES": "0"})
    assert done.code == 1 and "rate limit exceeded" in done.text
    assert "resets at" not in done.text
    wanted = "wait at least a minute" if retry_after is None else "wait 90 s before trying again"
    assert wanted in done.text


@pytest.mark.parametrize("bad", ["abc", "0", "-3", "1.5"])
def test_bad_issue_numbers(world: World, bad: str) -> None:
    done = world.invoke("learn", "--issue", bad, "--repo", str(world.clone.path))
    assert done.code == 2 and "issue number" in done.text and "Traceback" not in done.text


def test_unknown_issue(world: World) -> None:
    world.number = 999
    done = world.learn()
    assert done.code == 2 and "#999 not found" in done.text


# -- faults on every call ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_fault_on_each_call_never_duplicates_or_sticks(
    repo: Repo, invoke: Callable[..., Done], tmp_path: Path
) -> None:
    """Learn once to record the calls; then, for each call in turn, fail it once (a 502 before
    the effect, and for writes also after it) and check: one PR, no duplicate comment, and a
    terminal status — never `pending`."""
    with FakeGitHub(tokens={TOKEN}) as gh:
        fake_repo, number = add_plan(gh, title="Plan")
        clean = World(gh, fake_repo, repo, number, invoke)
        assert clean.learn().code == 0
        calls = clean.api_requests()
    outcomes = []
    for i, (method, path) in enumerate(calls):
        earlier = calls[:i].count((method, path))  # fail this occurrence, not the first one
        for after in [False, True] if method != "GET" else [False]:
            clone_dir = tmp_path / f"case{i}{'a' if after else 'b'}"
            clone_dir.mkdir()
            git(clone_dir, "clone", "--quiet", str(repo.remote), "c")
            for b in git(repo.remote, "branch", "--format=%(refname:short)").split():
                if b.startswith("learn-"):
                    git(repo.remote, "branch", "-D", b)
            with FakeGitHub(tokens={TOKEN}) as gh:
                fake_repo, number = add_plan(gh, title="Plan")
                pattern = "^" + re.escape(path).replace(r"\d+", r"\d+") + "$"
                gh.fail(method, pattern, 502, times=1, after=after, skip=earlier)
                w = World(gh, fake_repo, Repo(clone_dir / "c", repo.remote), number, invoke)
                done = w.learn()
                status = w.header["learn_status"]
                outcomes.append((method, path, after, done.code, status))
                assert status in ("pending_review", "failed"), (method, path, after, done.text)
                assert len(fake_repo.pulls) <= 1, (method, path, after)
                assert len(w.issue.comment_bodies()) <= 1, (method, path, after)
                if done.code != 0:
                    assert status == "failed" and "Traceback" not in done.text
    print("\n" + "\n".join(f"{m} {p} after={a}: exit {c}, {s}" for m, p, a, c, s in outcomes))
    assert all(code == 0 for *_, code, _ in outcomes), outcomes  # one transient fault is survived
