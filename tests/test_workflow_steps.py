"""learn-async.yml, executed step by step: every run: script runs with bash, as written, against
FakeGitHub and a bare remote holding this repository (the workflow runs `nox -s learn -- <task>`
in its checkout). `uses:` steps are replaced by their local equivalents: checkout is a clone of
the bare remote, setup-python a fresh virtualenv with pip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from learn import plan_header as plan
from tests.fakes.github_api import FakeGitHub, FakeRepo, make_zip
from tests.support.github_world import SESSION_ID, TOKEN, artifact_zip, plan_body
from tests.support.repos import GIT_ENV, ROOT, git
from tests.support.workflow_runner import JobResult, StepContext, run_job

WORKFLOW = ROOT / ".github" / "workflows" / "learn-async.yml"
RUN_ID = 21202876864
WORKFLOW_RUN = 9001
pytestmark = pytest.mark.slow
# The machine's own network setup (CA bundles, package indexes, proxies): what a runner image
# configures system-wide. Nothing else of the host environment reaches the steps.
MACHINE_SETUP = (
    "SSL_",
    "PIP_",
    "UV_",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


def machine_setup() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(MACHINE_SETUP)}


@pytest.fixture(scope="module")
def python_with_pip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What actions/setup-python gives a job: a Python with pip (built once for the module)."""
    where = tmp_path_factory.mktemp("setup-python") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(where)], check=True)
    return where / "bin"


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare repository holding this project's working tree (tracked and new files)."""
    top = tmp_path_factory.mktemp("remote")
    seed, bare = top / "seed", top / "learn-async.git"
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (seed / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, seed / rel)
    git(top, "init", "--quiet", "-b", "main", str(seed))
    git(seed, "add", "--all")
    git(seed, "commit", "--quiet", "-m", "learn-async")
    git(top, "clone", "--quiet", "--bare", str(seed), str(bare))
    return bare


@dataclass
class Scenario:
    gh: FakeGitHub
    repo: FakeRepo
    number: int
    remote: Path
    workdir: Path
    bin_dir: Path

    def run(self, cancel_after: str | None = None) -> JobResult:
        def checkout(ctx: StepContext) -> None:
            assert ctx.input("persist-credentials") == "false" and ctx.input("fetch-depth") == "0"
            git(ctx.workdir.parent, "clone", "--quiet", str(self.remote), str(ctx.workdir))

        def setup_python(ctx: StepContext) -> None:
            assert ctx.input("python-version") == "3.11"
            ctx.add_path(self.bin_dir)

        self.workdir.parent.mkdir(parents=True, exist_ok=True)
        return run_job(
            WORKFLOW,
            "learn",
            workdir=self.workdir,
            inputs={"issue_number": self.number, "engine": "offline"},
            secrets={},
            github={
                "token": TOKEN,
                "repository": "acme/learn-async",
                "run_id": str(WORKFLOW_RUN),
                "server_url": "https://github.com",
                "api_url": self.gh.base_url,
                "event_name": "workflow_dispatch",
                "ref": "refs/heads/main",
            },
            env={
                **machine_setup(),
                **GIT_ENV,
                "LEARN_GITHUB_BACKOFF": "0.01",
                "HOME": os.environ.get("HOME", "/root"),
            },
            uses={"actions/checkout": checkout, "actions/setup-python": setup_python},
            cancel_after=cancel_after,
            timeout=600,
        )

    @property
    def header(self) -> dict[str, object]:
        header = plan.read_header(self.repo.issues[self.number].body or "")
        assert header is not None
        return header

    def remote_learn_branches(self) -> list[str]:
        return [
            b
            for b in git(self.remote, "branch", "--format=%(refname:short)").split()
            if b.startswith("learn-")
        ]


@pytest.fixture
def scenario(remote: Path, python_with_pip: Path, tmp_path: Path) -> Iterator[Scenario]:
    with FakeGitHub(tokens={TOKEN}) as gh:
        repo = gh.add_repo("acme/learn-async", default_branch="main")
        issue = repo.add_issue(title="Plan: add slugify", body=plan_body())
        repo.add_run(RUN_ID).add_artifact(f"session-{SESSION_ID}", artifact_zip())
        yield Scenario(gh, repo, issue.number, remote, tmp_path / "workspace", python_with_pip)
    for branch in Scenario(
        gh, repo, issue.number, remote, tmp_path, python_with_pip
    ).remote_learn_branches():
        git(remote, "branch", "-D", branch)


def test_pr_created(scenario: Scenario) -> None:
    result = scenario.run()
    assert result.conclusion == "success", result.log()
    assert scenario.header["learn_status"] == "pending_review"
    (pr,) = scenario.repo.open_pulls()
    assert pr.draft and pr.head == f"learn-{scenario.number}-{WORKFLOW_RUN}"
    assert result.step("publish").outputs["operation"] == "created"
    assert result.step("publish").outputs["pr-number"] == str(pr.number)
    assert result.step("checkout-branch").outputs["branch"] == pr.head
    assert "draft PR" in result.summary
    assert result.step("Record a failure or cancellation").outcome == "skipped"


def test_no_changes_comments(scenario: Scenario) -> None:
    scenario.repo.runs[RUN_ID].artifacts[0].data = artifact_zip("nothing-to-learn.jsonl")
    result = scenario.run()
    assert result.conclusion == "success", result.log()
    assert result.step("publish").outputs["operation"] == "commented"
    assert scenario.header["learn_status"] == "completed_no_changes"
    assert len(scenario.repo.issues[scenario.number].comment_bodies()) == 1
    assert not scenario.remote_learn_branches()


def test_learn_step_fails_then_the_last_step_records_it(scenario: Scenario) -> None:
    scenario.repo.runs[RUN_ID].artifacts[0].data = make_zip({"../evil.jsonl": b"{}\n"})
    result = scenario.run()
    assert result.conclusion == "failure"
    assert result.step("Learn").outcome == "failure"
    assert result.step("publish").outcome == "skipped"
    assert result.step("Record a failure or cancellation").outcome == "success", result.log()
    assert scenario.header["learn_status"] == "failed"
    assert "workflow run 9001 ended with status failure" in str(scenario.header["learn_error"])
    assert not scenario.remote_learn_branches()
    clone_branches = git(scenario.workdir, "branch", "--format=%(refname:short)").split()
    assert not [b for b in clone_branches if b.startswith("learn-")]  # the half-made branch is gone


def test_cancelled_after_checkout_branch(scenario: Scenario) -> None:
    result = scenario.run(cancel_after="checkout-branch")
    assert result.conclusion == "cancelled"
    assert result.step("Record a failure or cancellation").outcome == "success", result.log()
    assert scenario.header["learn_status"] == "failed"
    assert "cancelled" in str(scenario.header["learn_error"])


def test_already_learned_is_skipped_and_green(scenario: Scenario) -> None:
    scenario.repo.issues[scenario.number].body = plan_body(learn_status="completed_no_changes")
    result = scenario.run()
    assert result.conclusion == "success", result.log()
    assert result.step("checkout-branch").outputs["operation"] == "skipped"
    not_run = {st.name: st.outcome for st in result.steps if st.outcome != "success"}
    assert not_run == {
        "Install Claude Code (pinned by a lockfile)": "skipped",
        "Record a failure or cancellation": "skipped",
    }
    assert scenario.header["learn_status"] == "completed_no_changes"
    assert not scenario.gh.writes() and not scenario.repo.open_pulls()
