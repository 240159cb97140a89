"""The workflow is one template: this repository's copy is its rendering; every task and option
it invokes exists; every input `dispatch` sends is declared; `init` installs it elsewhere."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from learn.ci import workflow
from learn.ci.dispatch import Request
from learn.collection import ns
from tests.support.repos import ROOT, git

WORKFLOW = ROOT / ".github" / "workflows" / "learn-async.yml"


def load(text: str) -> dict:
    data = yaml.safe_load(text)
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def test_committed_workflow_is_the_rendered_template() -> None:
    assert WORKFLOW.read_text() == workflow.render("self"), "run `nox -s workflow` to re-render"


def invoked_tasks(text: str, prefix: str) -> list[list[str]]:
    calls = []
    for step in load(text)["jobs"]["learn"]["steps"]:
        script = step.get("run", "")
        for line in script.splitlines():
            if line.strip().startswith(prefix):
                calls.append(shlex.split(line.strip()[len(prefix) :]))
    return calls


def test_every_task_and_option_the_workflow_invokes_exists() -> None:
    for mode, prefix in (("self", "nox -s learn --"), ("adopter", "learn-async")):
        calls = invoked_tasks(workflow.render(mode), prefix)
        assert [c[0] for c in calls] == ["checkout-branch", "run-learn", "publish", "mark-failed"]
        for name, *args in calls:
            task = ns[name]
            flags = {f"--{a.replace('_', '-')}" for a in task.get_arguments() for a in a.names}
            for arg in args:
                if arg.startswith("--"):
                    assert arg.split("=")[0] in flags, f"{name} has no option {arg}"


def test_every_input_dispatch_sends_is_declared() -> None:
    inputs = load(WORKFLOW.read_text())["on"]["workflow_dispatch"]["inputs"]
    sent = Request(issue=1, ref="main", model="claude-haiku-4-5", engine="offline").inputs("abc")
    assert set(sent) <= set(inputs)
    assert inputs["issue_number"]["required"] is True and inputs["issue_number"]["type"] == "number"
    assert all(not spec.get("required") for name, spec in inputs.items() if name != "issue_number")
    assert re.fullmatch(r"claude-haiku-[\w.-]+", inputs["model_name"]["default"])


def test_hardening() -> None:
    data = load(WORKFLOW.read_text())
    assert data["permissions"] == {}
    job = data["jobs"]["learn"]
    assert job["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
        "issues": "write",
        "actions": "read",
    }
    assert data["concurrency"] == {
        "group": "learn-async-${{ inputs.issue_number }}",
        "cancel-in-progress": True,
    }
    assert "${{ inputs.issue_number }}" in data["run-name"] and "distinct_id" in data["run-name"]
    for step in job["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
        if "uses" in step:
            assert re.search(r"@[0-9a-f]{40}$", step["uses"]), step["uses"]
    checkout = job["steps"][0]
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
    assert job["steps"][-1]["if"] == "failure() || cancelled()"


def test_init_installs_the_workflow(tmp_path: Path) -> None:
    repo = tmp_path / "other"
    git(tmp_path, "init", "--quiet", str(repo))
    done = subprocess.run(
        [sys.executable, "-m", "learn.cli", "init", "--repo", str(repo)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    written = (repo / ".github/workflows/learn-async.yml").read_text()
    assert written == workflow.render("adopter")
    assert "learn-async checkout-branch --issue" in written and "nox" not in written
    assert "python -m pip install 'learn-async==" in written
    assert (repo / ".github/learn-async/package-lock.json").is_file()
    assert ".learn/" in (repo / ".gitignore").read_text().splitlines()
    again = subprocess.run(
        [sys.executable, "-m", "learn.cli", "init", "--repo", str(repo)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and "already up to date" in again.stdout
    (repo / ".github/workflows/learn-async.yml").write_text("name: mine\n")
    refused = subprocess.run(
        [sys.executable, "-m", "learn.cli", "init", "--repo", str(repo)],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "was not written by learn-async init" in refused.stderr


def test_console_script_bad_usage_exits_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "learn.cli", "learn", "--bogus"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "No idea what '--bogus' is" in done.stderr
