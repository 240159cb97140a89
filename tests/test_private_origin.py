"""A private repository: origin needs the token for every git request (fetch, ls-remote, push).

The loopback GitHub fake serves git smart HTTP through ``git http-backend`` and answers 401
without the token; ``learn --issue N`` runs as a process, end to end, to a draft PR.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.github_api import FakeGitHub
from tests.support.github_world import (
    RUN_ID,
    TOKEN,
    WORKFLOW_RUN,
    World,
    add_plan,
    artifact_zip,
    private_clone,
)
from tests.support.processes import Done


@pytest.fixture
def private(tmp_path: Path, invoke: Callable[..., Done]) -> Iterator[World]:
    with FakeGitHub(tokens={TOKEN}) as gh:
        fake_repo, number = add_plan(gh)
        clone = private_clone(gh, tmp_path)
        yield World(gh, fake_repo, clone, number, invoke)


def test_the_origin_refuses_git_without_the_token(private: World) -> None:
    done = subprocess.run(
        ["git", "ls-remote", private.gh.git_url("acme/widgets")],
        capture_output=True,
        text=True,
        env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode != 0 and "could not read Username" in done.stderr
    assert ("GET", "/acme/widgets.git/info/refs", 401) in private.gh.git_requests


def test_learn_from_a_plan_on_a_private_repository(private: World) -> None:
    env = {"GITHUB_SERVER_URL": private.gh.base_url}
    done = private.learn(env=env)
    assert done.code == 0, done.text
    assert "Traceback" not in done.text
    branch = f"learn-{private.number}-{WORKFLOW_RUN}"
    (pr,) = private.repo.open_pulls()
    assert pr.draft and pr.head == branch and pr.base == "trunk"
    assert branch in private.clone.remote_branches()  # pushed through the authenticated origin
    assert private.header["learn_status"] == "pending_review"
    methods = {
        (m, p.rsplit("/", 1)[-1]) for m, p, status in private.gh.git_requests if status == 200
    }
    assert ("POST", "git-upload-pack") in methods and ("POST", "git-receive-pack") in methods
    config = (private.clone.path / ".git" / "config").read_text()
    assert TOKEN not in config and "extraheader" not in config.lower()


def test_nothing_to_learn_deletes_the_remote_branch_with_the_token(private: World) -> None:
    private.repo.runs[RUN_ID].artifacts[0].data = artifact_zip("nothing-to-learn.jsonl")
    done = private.learn(env={"GITHUB_SERVER_URL": private.gh.base_url})
    assert done.code == 0, done.text
    assert private.header["learn_status"] == "completed_no_changes"
    assert not [b for b in private.clone.remote_branches() if b.startswith("learn-")]
    assert any(p.endswith("info/refs") and s == 200 for _, p, s in private.gh.git_requests)
