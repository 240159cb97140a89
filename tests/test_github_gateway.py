"""The GitHub gateway's one retry policy, against the loopback fake (PyGithub's real code path)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from learn.errors import GitHubError
from learn.gateways.github import GitHub, GitHubSettings, RetryPolicy
from tests.fakes.github_api import FakeGitHub, FakeRepo

TOKEN = "t0ken"


@pytest.fixture
def world() -> Iterator[tuple[FakeGitHub, FakeRepo, list[float]]]:
    with FakeGitHub(tokens={TOKEN}) as gh:
        yield gh, gh.add_repo("acme/widgets"), []


def gateway(gh: FakeGitHub, slept: list[float], retries: int = 2) -> GitHub:
    settings = GitHubSettings(
        "acme/widgets", TOKEN, api_url=gh.base_url, retry=RetryPolicy(retries, 0.5)
    )
    return GitHub(settings, sleep=slept.append)


@pytest.mark.parametrize(
    "status, transient", [(None, True), (502, True), (429, True), (403, False), (422, False)]
)
def test_transient_is_decided_by_status(status: int | None, transient: bool) -> None:
    assert GitHubError("x", status=status).transient is transient


def test_a_transient_write_failure_is_retried_with_backoff(
    world: tuple[FakeGitHub, FakeRepo, list[float]],
) -> None:
    gh, repo, slept = world
    issue = repo.add_issue(title="Plan", body="body")
    gh.fail("POST", r"^/repos/acme/widgets/issues/\d+/comments$", 502, times=2)
    gateway(gh, slept).comment_once(issue.number, "hello <!-- m -->", "<!-- m -->")
    assert [c.body for c in issue.comments] == ["hello <!-- m -->"]
    assert slept == [0.5, 1.0]  # the policy's backoff, doubled


def test_a_write_that_landed_is_not_repeated(
    world: tuple[FakeGitHub, FakeRepo, list[float]],
) -> None:
    gh, repo, slept = world
    issue = repo.add_issue(title="Plan", body="body")
    gh.fail("POST", r"^/repos/acme/widgets/issues/\d+/comments$", 502, times=1, after=True)
    gateway(gh, slept).comment_once(issue.number, "hello <!-- m -->", "<!-- m -->")
    assert len(issue.comments) == 1


def test_a_permanent_failure_is_not_retried(
    world: tuple[FakeGitHub, FakeRepo, list[float]],
) -> None:
    gh, repo, slept = world
    issue = repo.add_issue(title="Plan", body="body")
    gh.fail("POST", r"^/repos/acme/widgets/issues/\d+/comments$", 422, times=5)
    with pytest.raises(GitHubError) as info:
        gateway(gh, slept).comment_once(issue.number, "hello", "<!-- m -->")
    assert info.value.status == 422 and slept == []


def test_retries_run_out(world: tuple[FakeGitHub, FakeRepo, list[float]]) -> None:
    gh, repo, slept = world
    issue = repo.add_issue(title="Plan", body="body")
    gh.fail("POST", r"^/repos/acme/widgets/issues/\d+/comments$", 503, times=10)
    with pytest.raises(GitHubError, match="GitHub answered 503") as info:
        gateway(gh, slept, retries=1).comment_once(issue.number, "hello", "<!-- m -->")
    assert info.value.status == 503 and slept == [0.5]
