"""The step runner's composite actions: `uses: ./path` from the workspace and
`uses: owner/repo/path@sha` from a local clone at that commit."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.repos import git
from tests.support.workflow_runner import WorkflowError, run_job

GITHUB = {"repository": "acme/widgets", "run_id": 1, "token": "ghs_job_token"}
ACTION = """
name: greet
inputs:
  who:
    description: whom
    default: ${{ github.repository }}
  loud:
    description: shout
    default: "false"
outputs:
  said:
    description: what it said
    value: ${{ steps.say.outputs.text }}
  failed:
    description: the last step's view
    value: ${{ steps.after.outcome }}
runs:
  using: composite
  steps:
    - id: say
      shell: bash
      env:
        WHO: ${{ inputs.who }}
        LOUD: ${{ inputs.loud }}
      run: |
        text="hello $WHO"
        if [ "$LOUD" = true ]; then text="${text^^}"; fi
        echo "text=$text" >> "$GITHUB_OUTPUT"
        echo "### $text" >> "$GITHUB_STEP_SUMMARY"
        test -f "$GITHUB_ACTION_PATH/action.yml"
    - id: boom
      if: inputs.loud == 'fail'
      shell: bash
      run: exit 3
    - id: after
      if: failure()
      shell: bash
      run: echo "cleaning up"
"""
CALLER = """
on: workflow_dispatch
jobs:
  j:
    runs-on: ubuntu-latest
    outputs:
      said: ${{ steps.greet.outputs.said }}
    steps:
      - id: greet
        uses: USES
        with:
          loud: LOUD
"""


def caller(tmp_path: Path, uses: str, loud: str = "false") -> Path:
    path = tmp_path / "wf.yml"
    path.write_text(textwrap.dedent(CALLER).replace("USES", uses).replace("LOUD", loud))
    return path


def local_action(workspace: Path) -> None:
    (workspace / ".github/actions/greet").mkdir(parents=True)
    (workspace / ".github/actions/greet/action.yml").write_text(textwrap.dedent(ACTION))


def test_a_local_composite_action_runs_with_inputs_outputs_and_summary(tmp_path: Path) -> None:
    local_action(tmp_path / "ws")
    wf = caller(tmp_path, "./.github/actions/greet", loud="true")
    result = run_job(wf, "j", workdir=tmp_path / "ws", github=GITHUB)
    assert result.conclusion == "success", result.log()
    assert result.outputs == {"said": "HELLO ACME/WIDGETS"}  # the input's default, evaluated
    assert result.summary == "### HELLO ACME/WIDGETS\n"
    step = result.step("greet")
    assert [s.outcome for s in step.steps] == ["success", "skipped", "skipped"]


def test_a_failing_step_runs_the_failure_steps_and_fails_the_caller(tmp_path: Path) -> None:
    local_action(tmp_path / "ws")
    result = run_job(
        caller(tmp_path, "./.github/actions/greet", loud="fail"),
        "j",
        workdir=tmp_path / "ws",
        github=GITHUB,
    )
    assert result.conclusion == "failure"
    assert [s.outcome for s in result.step("greet").steps] == ["success", "failure", "success"]
    assert result.step("greet").outputs["failed"] == "success"


def test_an_action_from_a_clone_at_a_commit(tmp_path: Path) -> None:
    clone = tmp_path / "greeter"
    git(tmp_path, "init", "--quiet", str(clone))
    local_action(clone)
    git(clone, "add", ".")
    git(clone, "commit", "--quiet", "-m", "v1")
    sha = git(clone, "rev-parse", "HEAD").strip()
    (clone / ".github/actions/greet/action.yml").write_text("broken: [")  # not at that commit
    wf = caller(tmp_path, f"acme/greeter/.github/actions/greet@{sha}")
    result = run_job(
        wf, "j", workdir=tmp_path / "ws", github=GITHUB, actions={"acme/greeter": clone}
    )
    assert result.conclusion == "success", result.log()
    assert result.outputs["said"] == "hello acme/widgets"
    with pytest.raises(WorkflowError, match="is not a commit"):
        run_job(
            caller(tmp_path, "acme/greeter/.github/actions/greet@" + "0" * 40),
            "j",
            workdir=tmp_path / "ws2",
            github=GITHUB,
            actions={"acme/greeter": clone},
        )


@pytest.mark.parametrize(
    "change, message",
    [
        (("      shell: bash\n      run: exit 3", "      run: exit 3"), "needs shell:"),
        (("WHO: ${{ inputs.who }}", "WHO: ${{ secrets.GITHUB_TOKEN }}"), "secrets"),
        (("value: ${{ steps.say.outputs.text }}", "value: ${{ steps.nope.outputs.x }}"), "nope"),
    ],
)
def test_what_github_would_refuse_is_refused(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    local_action(tmp_path / "ws")
    path = tmp_path / "ws/.github/actions/greet/action.yml"
    path.write_text(path.read_text().replace(*change))
    with pytest.raises(WorkflowError, match=message):
        run_job(
            caller(tmp_path, "./.github/actions/greet"), "j", workdir=tmp_path / "ws", github=GITHUB
        )


def test_unknown_inputs_are_refused(tmp_path: Path) -> None:
    local_action(tmp_path / "ws")
    wf = caller(tmp_path, "./.github/actions/greet")
    wf.write_text(wf.read_text().replace("loud:", "lowd:"))
    with pytest.raises(WorkflowError, match="no input"):
        run_job(wf, "j", workdir=tmp_path / "ws", github=GITHUB)
