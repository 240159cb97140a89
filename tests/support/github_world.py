"""A plan issue on the loopback GitHub fake, its session artifact, and a clone to learn in."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from learn import plan_header
from learn.gateways.git import token_env
from tests.fakes.github_api import FakeGitHub, FakeRepo, make_zip
from tests.support.processes import Done
from tests.support.repos import EXAMPLES, GIT_ENV, Repo, git, make_repo

SESSION_ID = "5f0c1d2e-0000-4000-8000-000000000001"
RUN_ID = 21202876864
WORKFLOW_RUN = "777"
TOKEN = "t0ken"


def plan_body(**fields: object) -> str:
    header = {
        "schema_version": "2",
        "created_at": "2026-01-20T10:00:00Z",
        "last_remote_impl_run_id": str(RUN_ID),
        "last_remote_impl_session_id": SESSION_ID,
        "learn_status": "not_started",
        **fields,
    }
    lines = "".join(
        f"{plan_header.render_entry(k, v)}\n" for k, v in header.items() if v is not None
    )
    return (
        "# Plan: add slugify\n\nSome prose the plan author wrote.\n\n"
        "<!-- erk:metadata-block:plan-header -->\n<details>\n"
        "<summary><code>plan-header</code></summary>\n\n"
        f"```yaml\n{lines}```\n\n</details>\n<!-- /erk:metadata-block:plan-header -->\n\n"
        "Trailing text stays byte for byte.\n"
    )


@dataclass
class World:
    gh: FakeGitHub
    repo: FakeRepo
    clone: Repo
    number: int
    invoke: Callable[..., Done]

    def learn(self, *extra: str, env: dict[str, str] | None = None) -> Done:
        return self.task("learn", *extra, env=env)

    def task(self, name: str, *extra: str, env: dict[str, str] | None = None) -> Done:
        full_env = {
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "acme/widgets",
            "GITHUB_API_URL": self.gh.base_url,
            "GITHUB_RUN_ID": WORKFLOW_RUN,
            "LEARN_GITHUB_BACKOFF": "0.01",
            "LEARN_ENGINE": "offline",
            **(env or {}),
        }
        return self.invoke(
            name, "--issue", str(self.number), "--repo", str(self.clone.path), *extra, env=full_env
        )

    @property
    def issue(self):  # type: ignore[no-untyped-def]
        return self.repo.issues[self.number]

    @property
    def header(self) -> dict[str, object]:
        header = plan_header.read_header(self.issue.body or "")
        assert header is not None
        return header

    def api_requests(self) -> list[tuple[str, str]]:
        return [
            (r.method, r.canonical_path) for r in self.gh.requests if not r.path.startswith("/_")
        ]


def artifact_zip(example: str = "fix-failing-test.jsonl") -> bytes:
    return make_zip({f"{SESSION_ID}.jsonl": (EXAMPLES / example).read_bytes()})


def add_plan(
    gh: FakeGitHub, title: str = "Plan: add slugify", example: str = "fix-failing-test.jsonl"
) -> tuple[FakeRepo, int]:
    """``acme/widgets`` (trunk ``trunk``) with a plan issue whose session artifact is in
    workflow run ``RUN_ID``: the repository and the plan's number."""
    fake_repo = gh.add_repo("acme/widgets", default_branch="trunk")
    issue = fake_repo.add_issue(title=title, body=plan_body())
    fake_repo.add_run(RUN_ID).add_artifact(f"session-{SESSION_ID}", artifact_zip(example))
    return fake_repo, issue.number


def private_clone(gh: FakeGitHub, tmp: Path, full_name: str = "acme/widgets") -> Repo:
    """A repository only reachable over the fake's authenticated git HTTP (like a private
    GitHub repository), cloned with the token given through the environment, never stored."""
    root = tmp / "git-server"
    bare = root / f"{full_name}.git"
    bare.parent.mkdir(parents=True)
    (tmp / "seed-of-private").mkdir()
    seed = make_repo(tmp / "seed-of-private")
    git(tmp, "clone", "--quiet", "--bare", str(seed.remote), str(bare))
    git(bare, "config", "http.receivepack", "true")
    gh.serve_git(root)
    clone = tmp / "private-clone"
    auth = token_env({"GITHUB_TOKEN": TOKEN, "GITHUB_SERVER_URL": gh.base_url})
    subprocess.run(
        ["git", "clone", "--quiet", gh.git_url(full_name), str(clone)],
        check=True,
        capture_output=True,
        env={**os.environ, **GIT_ENV, "GIT_TERMINAL_PROMPT": "0", **auth},
    )
    return Repo(clone, bare)
