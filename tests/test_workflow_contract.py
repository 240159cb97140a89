"""The caller workflow is one template: this repository's copy is its rendering; the action it
calls runs only tasks and options that exist; every input `dispatch` sends is declared."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from learn.ci import workflow
from learn.ci.dispatch import Request
from learn.ci.source import Pin
from learn.collection import ns
from tests.support.repos import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "learn-async.yml"
ACTION = ROOT / ".github" / "actions" / "learn-async" / "action.yml"
PIN = Pin("acme/learn-async", "0123456789abcdef0123456789abcdef01234567", "0.1.0")
LEARN_ASYNC = '"$RUNNER_TEMP/learn-async/venv/bin/learn-async"'


def load(text: str) -> dict:
    data = yaml.safe_load(text)
    if True in data:
        data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as True
    return data


def test_committed_workflow_is_the_rendered_template() -> None:
    assert WORKFLOW.read_text() == workflow.render_self(), "run `nox -s workflow` to re-render"


def test_this_repository_and_adopters_call_the_same_action() -> None:
    own = load(WORKFLOW.read_text())["jobs"]["learn"]["steps"][-1]
    adopter = load(workflow.render_adopter(PIN, on_land=False))["jobs"]["learn"]["steps"][-1]
    assert own["uses"] == "./.github/actions/learn-async"
    assert adopter["uses"] == f"acme/learn-async/.github/actions/learn-async@{PIN.sha}"
    assert own["with"] == adopter["with"]
    declared = load(ACTION.read_text())["inputs"]
    assert set(own["with"]) <= set(declared)


def test_every_task_and_option_the_action_invokes_exists() -> None:
    calls = []
    for step in load(ACTION.read_text())["runs"]["steps"]:
        for line in step.get("run", "").splitlines():
            if line.strip().startswith(LEARN_ASYNC):
                calls.append(shlex.split(line.strip()[len(LEARN_ASYNC) :]))
    assert [c[0] for c in calls] == [
        "refresh",
        "find-plan",
        "checkout-branch",
        "run-learn",
        "publish",
        "mark-failed",
    ]
    for name, *args in calls:
        flags = {f"--{n}" for a in ns[name].get_arguments() for n in a.names}
        for arg in args:
            if arg.startswith("--"):
                assert arg.split("=")[0] in flags, f"{name} has no option {arg}"


def test_action_outputs_and_job_outputs() -> None:
    outputs = load(ACTION.read_text())["outputs"]
    expected = {"operation", "pr-number", "pr-url", "branch", "cost-usd", "input-tokens"}
    assert expected | {"output-tokens", "turns", "issue"} == set(outputs)
    job = load(WORKFLOW.read_text())["jobs"]["learn"]
    assert set(job["outputs"]) == set(outputs)
    assert all(v == f"${{{{ steps.learn.outputs.{k} }}}}" for k, v in job["outputs"].items())


def test_every_input_dispatch_sends_is_declared() -> None:
    inputs = load(WORKFLOW.read_text())["on"]["workflow_dispatch"]["inputs"]
    for plans in ((1,), (1, 2)):
        sent = Request(plans, ref="main", model="claude-haiku-4-5", engine="auto").inputs("abc")
        assert set(sent) <= set(inputs)
    assert inputs["issue_number"]["type"] == "number"  # or several plans: issues, or label
    assert {"issues", "label", "limit"} <= set(inputs)
    assert all(not spec.get("required") for spec in inputs.values())
    assert re.fullmatch(r"claude-haiku-[\w.-]+", inputs["model_name"]["default"])
    assert set(inputs["engine"]["options"]) == {"auto", "claude", "offline"}


def test_hardening() -> None:
    for text in (WORKFLOW.read_text(), workflow.render_adopter(PIN, on_land=True)):
        data = load(text)
        assert data["permissions"] == {}
        job = data["jobs"]["learn"]
        assert job["permissions"] == {
            "contents": "write",
            "pull-requests": "write",
            "issues": "write",
            "actions": "read",
        }
        assert "inputs.issue_number" in data["concurrency"]["group"]
        assert "distinct_id" in data["run-name"]
        checkout = job["steps"][0]
        assert checkout["with"]["persist-credentials"] is False
        assert checkout["with"]["fetch-depth"] == 0
        assert "merged" in job["if"] and "head.repo.full_name" in job["if"]
    for step in load(ACTION.read_text())["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
        assert "GITHUB_PATH" not in step.get("run", "") and "GITHUB_ENV" not in step.get("run", "")
        if "uses" in step:
            assert re.search(r"@[0-9a-f]{40}$", step["uses"]), step["uses"]
    last = load(ACTION.read_text())["runs"]["steps"][-1]
    assert "failure() || cancelled()" in last["if"]


def test_on_land_is_an_option_of_the_rendering() -> None:
    plain = load(workflow.render_adopter(PIN, on_land=False))
    landing = load(workflow.render_adopter(PIN, on_land=True))
    assert set(plain["on"]) == {"workflow_dispatch", "push"}  # push: refresh
    assert landing["on"]["pull_request"] == {"types": ["closed"]}
    assert "#@on-land" not in workflow.render_adopter(PIN, on_land=True)
    text = workflow.render_adopter(PIN, on_land=False)
    assert f"@{PIN.sha} # v0.1.0" in text  # the form Dependabot updates
    assert "pip install" not in text


def test_action_installs_itself_from_its_own_checkout() -> None:
    text = ACTION.read_text()
    assert 'pip install --quiet --disable-pip-version-check "$GITHUB_ACTION_PATH/../../.."' in text
    lock = Path(ACTION).parents[3] / "learn/templates/claude-code/package-lock.json"
    assert lock.is_file() and "npm ci" in text
    assert "learn/templates/claude-code/package-lock.json" in text


def test_refresh_runs_on_pushes_that_change_learned_docs() -> None:
    for text in (WORKFLOW.read_text(), workflow.render_adopter(PIN, on_land=False)):
        data = load(text)
        assert data["on"]["push"] == {"paths": ["docs/learned/**", "!docs/learned/index.md"]}
        job = data["jobs"]["refresh"]
        assert "github.event.repository.default_branch" in job["if"]
        assert job["permissions"] == {"contents": "write", "pull-requests": "read"}
        (step,) = [s for s in job["steps"] if s.get("id") == "refresh"]
        assert step["with"]["refresh"] == "true"
        learn = data["jobs"]["learn"]
        assert "push" not in learn["if"]  # the learn job never runs on a push
