"""The caller workflows and the composite action, executed step by step.

Every run: script of the action runs with bash, as written, against FakeGitHub and real git
remotes: the action installs learn-async with pip from its own checkout. An adopter's workflow
(as `learn-async init` writes it) resolves `uses: acme/learn-async/.github/actions/learn-async@<sha>`
from a local clone of this repository at a fixed commit; this repository's own workflow uses the
action through its local path. `actions/checkout` is a clone of the repository's bare remote and
`actions/setup-python` hands over a Python with pip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from learn import plan_header as plan
from learn.ci import workflow
from learn.ci.source import Pin
from tests.fakes.github_api import FakeGitHub, FakeRepo, make_zip
from tests.support.github_world import SESSION_ID, TOKEN, artifact_zip, plan_body
from tests.support.repos import GIT_ENV, ROOT, git, make_repo
from tests.support.workflow_runner import JobResult, StepContext, run_job

OWN_WORKFLOW = ROOT / ".github" / "workflows" / "learn-async.yml"
RUN_ID = 21202876864
WORKFLOW_RUN = 9001
PLAN = 7
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
    return where / "bin" / "python"


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One RUNNER_TEMP for the module: the action's venv is built once, then reused."""
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture(scope="module")
def learn_async(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A bare clone of this project's working tree (tracked and new files) and its commit."""
    top = tmp_path_factory.mktemp("learn-async")
    seed, bare = top / "seed", top / "learn-async.git"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        if (ROOT / rel).is_file():
            (seed / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, seed / rel)
    git(top, "init", "--quiet", "-b", "main", str(seed))
    git(seed, "add", "--all")
    git(seed, "commit", "--quiet", "-m", "learn-async")
    git(top, "clone", "--quiet", "--bare", str(seed), str(bare))
    return bare, git(seed, "rev-parse", "HEAD").strip()


@dataclass
class Scenario:
    gh: FakeGitHub
    repo: FakeRepo
    remote: Path  # the bare origin of the repository the workflow runs in
    workdir: Path
    python: Path
    runner_temp: Path
    actions: dict[str, Path] = field(default_factory=dict)
    checkouts: list[dict[str, str]] = field(default_factory=list)

    def run(
        self,
        workflow_file: Path,
        *,
        inputs: dict[str, Any] | None = None,
        event: dict[str, Any] | None = None,
        cancel_after: str | None = None,
        vars: dict[str, str] | None = None,
        job: str = "learn",
        event_name: str | None = None,
    ) -> JobResult:
        def checkout(ctx: StepContext) -> None:
            self.checkouts.append(dict(ctx.with_))
            git(ctx.workdir.parent, "clone", "--quiet", str(self.remote), str(ctx.workdir))

        def setup_python(ctx: StepContext) -> None:
            assert ctx.input("update-environment") == "false"
            ctx.set_output("python-path", str(self.python))

        github: dict[str, Any] = {
            "token": TOKEN,
            "repository": self.repo.full_name,
            "run_id": str(WORKFLOW_RUN),
            "server_url": "https://github.com",
            "api_url": self.gh.base_url,
            "event_name": event_name or ("pull_request" if event else "workflow_dispatch"),
            "ref": "refs/heads/trunk",
        }
        if event:
            github["event"] = event
        self.workdir.parent.mkdir(parents=True, exist_ok=True)
        if event_name == "push":
            github["ref_name"] = "trunk"
        return run_job(
            workflow_file,
            job,
            workdir=self.workdir,
            inputs=inputs,
            github=github,
            env={
                **machine_setup(),
                **GIT_ENV,
                "LEARN_GITHUB_BACKOFF": "0.01",
                "HOME": os.environ.get("HOME", "/root"),
            },
            uses={"actions/checkout": checkout, "actions/setup-python": setup_python},
            actions=self.actions,
            vars=vars,
            cancel_after=cancel_after,
            timeout=600,
            runner_temp=self.runner_temp,
        )

    def header(self, number: int) -> dict[str, object]:
        header = plan.read_header(self.repo.issues[number].body or "")
        assert header is not None
        return header

    def remote_learn_branches(self) -> list[str]:
        branches = git(self.remote, "branch", "--format=%(refname:short)").split()
        return [b for b in branches if b.startswith("learn-")]


@pytest.fixture
def world(
    tmp_path: Path, python_with_pip: Path, runner_temp: Path, learn_async: tuple[Path, str]
) -> Iterator[Scenario]:
    """An adopter: acme/widgets with plan #7, whose implementation session is an artifact."""
    (tmp_path / "adopter-src").mkdir()
    adopter = make_repo(tmp_path / "adopter-src")
    with FakeGitHub(tokens={TOKEN}) as gh:
        repo = gh.add_repo("acme/widgets", default_branch="trunk")
        repo.add_issue(title="Plan: add slugify", body=plan_body(), number=PLAN)
        repo.add_run(RUN_ID).add_artifact(f"session-{SESSION_ID}", artifact_zip())
        yield Scenario(
            gh,
            repo,
            adopter.remote,
            tmp_path / "workspace",
            python_with_pip,
            runner_temp,
            actions={"acme/learn-async": learn_async[0]},
        )


def adopter_workflow(tmp_path: Path, sha: str, *, on_land: bool) -> Path:
    """The caller workflow exactly as `learn-async init` writes it."""
    path = tmp_path / "caller" / "learn-async.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(workflow.render_adopter(Pin("acme/learn-async", sha), on_land=on_land))
    return path


def test_adopter_dispatch_opens_a_draft_pr_with_outputs_and_summary(
    world: Scenario, tmp_path: Path, learn_async: tuple[Path, str]
) -> None:
    caller = adopter_workflow(tmp_path, learn_async[1], on_land=False)
    result = world.run(caller, inputs={"issue_number": PLAN, "engine": "offline"})
    assert result.conclusion == "success", result.log()
    (pr,) = world.repo.open_pulls()
    assert pr.draft and pr.head == f"learn-{PLAN}-{WORKFLOW_RUN}"
    assert world.header(PLAN)["learn_status"] == "pending_review"
    outputs = result.outputs  # the job's outputs, read downstream
    assert outputs["operation"] == "created" and outputs["pr-number"] == str(pr.number)
    assert outputs["pr-url"].endswith(f"/pull/{pr.number}") and outputs["branch"] == pr.head
    assert (outputs["turns"], outputs["cost-usd"], outputs["issue"]) == ("0", "0.0000", "7")
    action = result.step("learn")
    assert action.step("Install Claude Code (pinned by its lockfile)").outcome == "skipped"
    assert action.step("mark-failed").outcome == "skipped"
    assert f"draft PR [#{pr.number}]" in result.summary and "docs/learned/" in result.summary
    assert "offline (no model called)" in result.summary
    commit = git(world.remote, "log", "-1", "--format=%an <%ae>%n%s", pr.head).splitlines()
    assert commit == [
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>",
        "Learn from plan #7: Plan: add slugify",
    ]


def merged_pr(body: str, *, merged: bool = True, branch: str = "feature") -> dict[str, Any]:
    return {
        "action": "closed",
        "pull_request": {
            "number": 40,
            "merged": merged,
            "body": body,
            "head": {"ref": branch, "repo": {"full_name": "acme/widgets"}},
            "base": {"ref": "trunk"},
        },
    }


def test_a_merged_pr_that_closes_plan_7_starts_learning_7(
    world: Scenario, tmp_path: Path, learn_async: tuple[Path, str]
) -> None:
    caller = adopter_workflow(tmp_path, learn_async[1], on_land=True)
    world.repo.add_issue(title="not a plan", body="no header", number=8)
    event = merged_pr("Implements the plan.\n\nCloses #8, closes #7")
    result = world.run(caller, event=event, vars={"LEARN_ENGINE": "offline"})
    assert result.conclusion == "success", result.log()
    assert result.outputs["issue"] == "7" and result.outputs["operation"] == "created"
    assert world.header(PLAN)["learn_status"] == "pending_review"
    assert world.checkouts[-1]["ref"] == "trunk"  # the base branch: the PR's merge ref is gone
    (pr,) = world.repo.open_pulls()
    assert pr.head == f"learn-{PLAN}-{WORKFLOW_RUN}"


def test_a_merged_pr_that_closes_two_plans_learns_both_into_one_pr(
    world: Scenario, tmp_path: Path, learn_async: tuple[Path, str]
) -> None:
    other = world.repo.add_issue(title="Plan: another", body=plan_body()).number
    caller = adopter_workflow(tmp_path, learn_async[1], on_land=True)
    event = merged_pr(f"Closes #{PLAN}, closes #{other}")
    result = world.run(caller, event=event, vars={"LEARN_ENGINE": "offline"})
    assert result.conclusion == "success", result.log()
    assert result.outputs["issue"] == f"{PLAN} {other}"
    (pr,) = world.repo.open_pulls()
    assert pr.head == f"learn-plans-{WORKFLOW_RUN}"
    assert world.header(PLAN)["learn_pr"] == pr.number
    assert world.header(other)["learn_status"] in ("pending_review", "completed_no_changes")


def test_an_unmerged_close_does_nothing(
    world: Scenario, tmp_path: Path, learn_async: tuple[Path, str]
) -> None:
    caller = adopter_workflow(tmp_path, learn_async[1], on_land=True)
    result = world.run(caller, event=merged_pr("Closes #7", merged=False))
    assert result.conclusion == "skipped" and not result.steps
    assert not world.gh.writes() and world.header(PLAN)["learn_status"] == "not_started"


def test_a_merged_pr_without_a_plan_ends_quietly(
    world: Scenario, tmp_path: Path, learn_async: tuple[Path, str]
) -> None:
    caller = adopter_workflow(tmp_path, learn_async[1], on_land=True)
    result = world.run(caller, event=merged_pr("Just a fix", branch="fix-typo"))
    assert result.conclusion == "success", result.log()
    assert result.outputs["issue"] == "" and result.outputs["operation"] == "skipped"
    assert "no plan to learn" in result.summary and not world.gh.writes()
    ran = [s.key for s in result.step("learn").steps if s.ran]
    assert ran == [
        "python",
        "Install learn-async (from this action's checkout)",
        "find-plan",
        "plans",  # decides there is nothing to learn: no plan, no issues, no label
    ]


@pytest.fixture
def own(
    tmp_path: Path, python_with_pip: Path, runner_temp: Path, learn_async: tuple[Path, str]
) -> Iterator[Scenario]:
    """This repository running its own workflow: the action through its local path."""
    with FakeGitHub(tokens={TOKEN}) as gh:
        repo = gh.add_repo("acme/learn-async", default_branch="main")
        repo.add_issue(title="Plan: add slugify", body=plan_body(), number=PLAN)
        repo.add_run(RUN_ID).add_artifact(f"session-{SESSION_ID}", artifact_zip())
        scenario = Scenario(
            gh, repo, learn_async[0], tmp_path / "workspace", python_with_pip, runner_temp
        )
        yield scenario
        for branch in scenario.remote_learn_branches():
            git(learn_async[0], "branch", "-D", branch)


def test_own_workflow_learn_step_fails_then_the_last_step_records_it(own: Scenario) -> None:
    own.repo.runs[RUN_ID].artifacts[0].data = make_zip({"../evil.jsonl": b"{}\n"})
    result = own.run(OWN_WORKFLOW, inputs={"issue_number": PLAN, "engine": "offline"})
    assert result.conclusion == "failure"
    action = result.step("learn")
    assert action.step("run-learn").outcome == "failure"
    assert action.step("publish").outcome == "skipped"
    assert action.step("mark-failed").outcome == "success", result.log()
    assert result.outputs["operation"] == "failed"
    assert own.header(PLAN)["learn_status"] == "failed"
    assert "workflow run 9001 failed or was cancelled" in str(own.header(PLAN)["learn_error"])
    assert not own.remote_learn_branches()
    titles = {a.properties.get("title") for a in result.annotations if a.level == "error"}
    assert "learn-async: bad usage or input" in titles or "learn-async failed" in titles


def test_own_workflow_cancelled_after_checkout_branch(own: Scenario) -> None:
    result = own.run(
        OWN_WORKFLOW,
        inputs={"issue_number": PLAN, "engine": "offline"},
        cancel_after="checkout-branch",
    )
    assert result.conclusion == "cancelled"
    action = result.step("learn")
    assert action.step("run-learn").outcome == "skipped"
    assert action.step("mark-failed").outcome == "success", result.log()
    assert own.header(PLAN)["learn_status"] == "failed"


def test_own_workflow_already_learned_is_skipped_and_green(own: Scenario) -> None:
    own.repo.issues[PLAN].body = plan_body(learn_status="completed_no_changes")
    result = own.run(OWN_WORKFLOW, inputs={"issue_number": PLAN, "engine": "offline"})
    assert result.conclusion == "success", result.log()
    assert result.outputs["operation"] == "skipped"
    assert "already learned" in result.summary
    assert own.header(PLAN)["learn_status"] == "completed_no_changes"
    assert not own.gh.writes() and not own.repo.open_pulls()


def test_own_workflow_without_a_claude_secret_fails_with_a_titled_annotation(own: Scenario) -> None:
    result = own.run(OWN_WORKFLOW, inputs={"issue_number": PLAN, "engine": "claude"})
    assert result.conclusion == "failure"
    action = result.step("learn")
    assert action.step("Check credentials").outcome == "failure"
    assert action.step("Install Claude Code (pinned by its lockfile)").outcome == "skipped"
    errors = {
        a.properties.get("title"): a.message for a in result.annotations if a.level == "error"
    }
    assert "anthropic-api-key" in errors["learn-async: missing Claude secret"]
    assert "learn failed" in errors["learn-async failed"]  # mark-failed's
    assert action.step("mark-failed").outcome == "success"
    assert own.header(PLAN)["learn_status"] == "failed"


def test_adopter_dispatch_of_several_plans_opens_one_pr(
    world: Scenario, tmp_path: Path, learn_async: tuple[Path, str]
) -> None:
    other = world.repo.add_issue(title="Plan: another", body=plan_body()).number
    caller = adopter_workflow(tmp_path, learn_async[1], on_land=False)
    inputs = {"issues": f"{PLAN} {other}", "engine": "offline"}
    result = world.run(caller, inputs=inputs)
    assert result.conclusion == "success", result.log()
    (pr,) = world.repo.open_pulls()
    assert pr.head == f"learn-plans-{WORKFLOW_RUN}" and result.outputs["pr-number"] == str(
        pr.number
    )
    assert world.header(PLAN)["learn_pr"] == pr.number
    assert world.header(other)["learn_status"] in ("pending_review", "completed_no_changes")


def test_adopter_refresh_job_on_a_push_to_the_trunk(
    world: Scenario, tmp_path: Path, learn_async: tuple[Path, str]
) -> None:
    seed = tmp_path / "merged"
    git(tmp_path, "clone", "--quiet", str(world.remote), str(seed))
    (seed / "docs/learned/testing").mkdir(parents=True)
    (seed / "docs/learned/testing/pytest.md").write_text(
        "---\ntitle: Running the tests\nread_when:\n- running the tests\n---\n\n# Running the tests\n"
    )
    git(seed, "add", ".")
    git(seed, "commit", "--quiet", "-m", "Merge a learn PR")
    git(seed, "push", "--quiet", "origin", "trunk")
    caller = adopter_workflow(tmp_path, learn_async[1], on_land=False)
    event = {"repository": {"default_branch": "trunk"}}
    result = world.run(caller, event=event, event_name="push", job="refresh")
    assert result.conclusion == "success", result.log()
    index = git(world.remote, "show", "trunk:docs/learned/index.md")
    assert "](testing/pytest.md)" in index
    subject = git(world.remote, "log", "-1", "--format=%s", "trunk").strip()
    assert subject == "Regenerate the learned docs index"
