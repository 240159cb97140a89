"""The local GitHub Actions step runner used by the workflow tests (tests/support/workflow_runner.py)."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.support.repos import GIT_ENV, Repo
from tests.support.workflow_runner import (
    JobResult,
    StepContext,
    WorkflowError,
    evaluate,
    load_workflow,
    render_run_name,
    run_commands,
    run_job,
    workflow_inputs,
)

GITHUB = {
    "repository": "acme/widgets",
    "run_id": 4242,
    "server_url": "https://github.example",
    "api_url": "http://127.0.0.1:9",
    "token": "ghs_job_token",
    "ref": "refs/heads/main",
    "actor": "octocat",
}


def write(tmp_path: Path, text: str, name: str = "wf.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run(tmp_path: Path, text: str, **kw: object) -> JobResult:
    kw.setdefault("github", GITHUB)
    return run_job(write(tmp_path, text), "j", workdir=tmp_path / "ws", **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# YAML, inputs, contract helpers
# ------------------------------------------------------------------------------------------


def test_on_key_stays_a_string_and_inputs_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: W
        run-name: "W #${{ inputs.issue_number }}${{ inputs.distinct_id && format(' [{0}]', inputs.distinct_id) || '' }}"
        on:
          workflow_dispatch:
            inputs:
              issue_number: {required: true, type: number}
              distinct_id: {required: false, default: ""}
              mode: {default: yes}
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - run: echo one
              - uses: actions/checkout@v4
              - run: |
                  echo two
                  echo three
        """,
    )
    assert True in yaml.safe_load(path.read_text())  # the YAML 1.1 quirk PyYAML has
    doc = load_workflow(path)
    assert "on" in doc and all(isinstance(k, str) for k in doc)
    assert workflow_inputs(path)["mode"]["default"] == "yes"  # GitHub: only true/false are bools
    assert workflow_inputs(path)["issue_number"] == {"required": True, "type": "number"}
    assert load_workflow({True: {"push": None}, "jobs": {}})["on"] == {"push": None}
    assert run_commands(path) == ["echo one", "echo two\necho three\n"]
    assert render_run_name(path, {"issue_number": 7}) == "W #7"
    assert render_run_name(path, {"issue_number": "7", "distinct_id": "ab12"}) == "W #7 [ab12]"


def test_inputs_are_validated_typed_and_defaulted(tmp_path: Path) -> None:
    text = """
        on:
          workflow_dispatch:
            inputs:
              issue_number: {required: true, type: number}
              model_name: {default: claude-haiku-4-5}
              dry: {type: boolean, default: false}
        jobs:
          j:
            steps:
              - run: printf '%s|%s|%s|%s|%s\\n' "$A" "$B" "$C" "$D" "$E"
                env:
                  A: ${{ inputs.issue_number }}
                  B: ${{ inputs.issue_number == '42' && 'number' || 'string' }}
                  C: ${{ github.event.inputs.issue_number }}
                  D: ${{ inputs.model_name }}
                  E: ${{ inputs.dry && 'dry' || 'wet' }}
    """
    r = run(tmp_path, text, inputs={"issue_number": "42"})
    assert r.steps[0].stdout == "42|number|42|claude-haiku-4-5|wet\n", r.log()
    r = run(tmp_path, text, inputs={"issue_number": 42.0, "dry": "true"})
    assert r.steps[0].stdout == "42|number|42|claude-haiku-4-5|dry\n", r.log()
    with pytest.raises(WorkflowError, match="required input 'issue_number' not provided"):
        run(tmp_path, text, inputs={})
    with pytest.raises(WorkflowError, match="unexpected inputs"):
        run(tmp_path, text, inputs={"issue_number": 1, "bogus": "x"})
    with pytest.raises(WorkflowError, match="is a number"):
        run(tmp_path, text, inputs={"issue_number": "forty-two"})


# ------------------------------------------------------------------------------------------
# Outputs, GITHUB_ENV, GITHUB_PATH, summary
# ------------------------------------------------------------------------------------------


def test_outputs_flow_between_steps_through_env(tmp_path: Path) -> None:
    r = run(
        tmp_path,
        """
        on: workflow_dispatch
        jobs:
          j:
            outputs:
              branch: ${{ steps.a.outputs.branch }}
            steps:
              - id: a
                run: |
                  echo "branch=learn/issue-7" >> "$GITHUB_OUTPUT"
                  {
                    echo "body<<EOF_BODY"
                    printf 'line one\\n\\nline = three\\n'
                    echo "EOF_BODY"
                  } >> "$GITHUB_OUTPUT"
              - run: echo "lost=1" >> "$GITHUB_OUTPUT"  # no id: outputs are dropped
              - id: b
                name: Use ${{ steps.a.outputs.branch }}
                env:
                  BRANCH: ${{ steps.a.outputs.branch }}
                  BODY: ${{ steps.a.outputs.body }}
                  OUTCOME: ${{ steps.a.outcome }}
                  LATER: ${{ steps.c.outputs.x || 'not yet' }}
                run: printf '%s|%s|%s|%s' "$BRANCH" "$BODY" "$OUTCOME" "$LATER"
              - id: c
                run: echo "x=1" >> "$GITHUB_OUTPUT"
        """,
    )
    assert r.conclusion == "success", r.log()
    assert r.step("a").outputs == {"branch": "learn/issue-7", "body": "line one\n\nline = three"}
    assert r.steps[1].outputs == {}
    b = r.step("b")
    assert b.name == "Use learn/issue-7" and r.step("Use learn/issue-7") is b
    assert b.stdout == "learn/issue-7|line one\n\nline = three|success|not yet"
    assert r.outputs == {"branch": "learn/issue-7"}


def test_github_env_and_path(tmp_path: Path) -> None:
    r = run(
        tmp_path,
        """
        on: workflow_dispatch
        env:
          LEVEL: workflow
          JOBVAR: from-workflow
        jobs:
          j:
            env:
              JOBVAR: from-job
            steps:
              - run: |
                  mkdir -p "$RUNNER_TEMP/bin"
                  printf '#!/bin/sh\\necho fake-tool "$@"\\n' > "$RUNNER_TEMP/bin/mytool"
                  chmod +x "$RUNNER_TEMP/bin/mytool"
                  echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
                  echo "JOBVAR=from-github-env" >> "$GITHUB_ENV"
                  echo "STEPVAR=from-github-env" >> "$GITHUB_ENV"
                  echo "GITHUB_REPOSITORY=evil/override" >> "$GITHUB_ENV"
                  printf 'NOTES<<END\\nmulti\\nline\\nEND\\n' >> "$GITHUB_ENV"
                  echo "## Summary one" >> "$GITHUB_STEP_SUMMARY"
              - env:
                  STEPVAR: from-step
                run: |
                  mytool hi
                  echo "$LEVEL $JOBVAR $STEPVAR $GITHUB_REPOSITORY"
                  echo "$NOTES"
                  echo "- two" >> "$GITHUB_STEP_SUMMARY"
              - id: ctx
                env:
                  SEEN: ${{ env.JOBVAR }}
                run: echo "$SEEN"
        """,
    )
    assert r.conclusion == "success", r.log()
    # GITHUB_ENV overwrites job env, a step's own env wins, GITHUB_* cannot be overridden
    assert r.steps[1].stdout == (
        "fake-tool hi\nworkflow from-github-env from-step acme/widgets\nmulti\nline\n"
    ), r.log()
    assert r.summary == "## Summary one\n- two\n"
    assert r.env["NOTES"] == "multi\nline"
    assert r.step("ctx").stdout == "from-github-env\n"  # the env context sees GITHUB_ENV too


def test_bad_file_command_fails_the_step(tmp_path: Path) -> None:
    r = run(
        tmp_path,
        """
        on: workflow_dispatch
        jobs:
          j:
            steps:
              - id: a
                run: printf 'x<<EOF\\nno end\\n' >> "$GITHUB_OUTPUT"
        """,
    )
    assert r.conclusion == "failure"
    assert "matching delimiter not found 'EOF'" in (r.step("a").error or "")


# ------------------------------------------------------------------------------------------
# Status functions, continue-on-error, cancellation, timeouts
# ------------------------------------------------------------------------------------------

STATUS_STEPS = """
        on: workflow_dispatch
        jobs:
          j:
            steps:
              - id: first
                run: echo first
              - id: boom
                run: {boom}
              - id: plain
                run: echo plain
              - id: on_success
                if: success()
                run: echo on-success
              - id: on_failure
                if: ${{{{ failure() }}}}
                env:
                  STATUS: ${{{{ job.status }}}}
                  BOOM: ${{{{ steps.boom.outcome }}}}
                run: echo "on-failure $STATUS $BOOM"
              - id: on_cancel
                if: cancelled()
                env:
                  STATUS: ${{{{ job.status }}}}
                run: echo "on-cancel $STATUS"
              - id: not_cancelled
                if: "!cancelled()"
                run: echo not-cancelled
              - id: on_always
                if: always() && steps.first.outcome == 'success'
                run: echo always
              - id: compared
                if: steps.boom.outcome == 'failure'
                run: echo compared
"""


def test_failure_runs_only_failure_and_always_steps(tmp_path: Path) -> None:
    r = run(tmp_path, STATUS_STEPS.format(boom="echo going down >&2; exit 3"))
    assert r.conclusion == "failure"
    boom = r.step("boom")
    assert (boom.outcome, boom.exit_code, boom.stderr) == ("failure", 3, "going down\n")
    assert boom.error == "Process completed with exit code 3."
    assert r.ran() == ["first", "boom", "on_failure", "not_cancelled", "on_always"]
    assert r.step("on_failure").stdout == "on-failure failure failure\n"
    # an if: without a status function means success() && ...: skipped after a failure
    assert r.step("compared").outcome == "skipped"
    assert "failure   Run echo going down" in r.log() and "exit=3" in r.log()


def test_all_green(tmp_path: Path) -> None:
    r = run(tmp_path, STATUS_STEPS.format(boom="true"))  # YAML true: the script "true"
    assert r.conclusion == "success", r.log()
    assert r.ran() == ["first", "boom", "plain", "on_success", "not_cancelled", "on_always"]


def test_cancel_after_runs_cancelled_and_always_steps(tmp_path: Path) -> None:
    r = run(tmp_path, STATUS_STEPS.format(boom="true"), cancel_after="first")
    assert r.conclusion == "cancelled"
    assert r.ran() == ["first", "on_cancel", "on_always"]
    assert r.step("on_cancel").stdout == "on-cancel cancelled\n"
    with pytest.raises(WorkflowError, match="no step with that id"):
        run(tmp_path, STATUS_STEPS.format(boom="true"), cancel_after="nope")


def test_continue_on_error(tmp_path: Path) -> None:
    r = run(
        tmp_path,
        """
        on: workflow_dispatch
        jobs:
          j:
            steps:
              - id: flaky
                continue-on-error: true
                run: exit 1
              - id: next
                env:
                  OUTCOME: ${{ steps.flaky.outcome }}
                  CONCLUSION: ${{ steps.flaky.conclusion }}
                run: echo "$OUTCOME $CONCLUSION"
        """,
    )
    assert r.conclusion == "success", r.log()
    assert (r.step("flaky").outcome, r.step("flaky").conclusion) == ("failure", "success")
    assert r.step("next").stdout == "failure success\n"


def test_default_shell_has_no_pipefail_but_shell_bash_does(tmp_path: Path) -> None:
    r = run(
        tmp_path,
        """
        on: workflow_dispatch
        defaults:
          run:
            working-directory: sub
        jobs:
          j:
            steps:
              - id: default
                working-directory: .
                run: |
                  mkdir -p sub
                  false | true
                  echo survived
              - id: in_sub
                run: basename "$PWD"
              - id: sh
                shell: sh
                working-directory: .
                run: echo "$0" | grep -q '\\.sh$' && echo sh-ok
              - id: py
                shell: python
                run: import os; print(os.environ["GITHUB_REPOSITORY"])
              - id: bash
                shell: bash
                run: |
                  false | true
                  echo unreachable
        """,
    )
    assert r.step("default").stdout == "survived\n", r.log()
    assert r.step("in_sub").stdout == "sub\n"
    assert r.step("sh").stdout == "sh-ok\n"
    assert r.step("py").stdout == "acme/widgets\n"
    assert (r.step("bash").outcome, r.step("bash").stdout) == ("failure", "")


def test_timeouts(tmp_path: Path) -> None:
    text = """
        on: workflow_dispatch
        jobs:
          j:
            steps:
              - id: slow
                timeout-minutes: {minutes}
                run: echo started; sleep 20
              - id: cleanup
                if: always()
                env:
                  STATUS: ${{{{ job.status }}}}
                run: echo "cleanup $STATUS"
    """
    r = run(tmp_path, text.format(minutes=0.005))  # 0.3 s: the step fails
    assert (r.step("slow").outcome, r.conclusion) == ("failure", "failure")
    assert "timed out" in (r.step("slow").error or "")
    assert r.step("slow").stdout == "started\n"
    assert r.step("cleanup").stdout == "cleanup failure\n"

    r = run(tmp_path, text.format(minutes=5), timeout=0.3)  # the job times out: cancelled
    assert (r.step("slow").outcome, r.conclusion) == ("cancelled", "cancelled")
    assert r.step("cleanup").stdout == "cleanup cancelled\n"


# ------------------------------------------------------------------------------------------
# Refusals and errors
# ------------------------------------------------------------------------------------------


def test_expression_inside_run_is_refused_before_anything_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(WorkflowError, match=r"expression inside run: in step\(s\) \['bad'\]"):
        run(
            tmp_path,
            f"""
            on: workflow_dispatch
            jobs:
              j:
                steps:
                  - run: touch {marker}
                  - id: bad
                    if: failure()
                    run: echo "${{{{ inputs.title }}}}"
            """,
        )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("${{ inputs.typo }}", "inputs.typo is not defined"),
        ("${{ github.event.inputs.typo }}", "github.event.inputs.typo is not defined"),
        ("${{ steps.nope.outputs.x }}", "steps.nope is not defined"),
        ("${{ github.sha }}", "github.sha is not defined"),
        ("${{ matrix.os }}", "Unrecognized named-value: 'matrix'"),
        ("${{ hashFiles('x') }}", "hashFiles"),
        ("${{ frobnicate(1) }}", "Unrecognized function: 'frobnicate'"),
        ('${{ inputs.n == "1" }}', "quote strings with '"),
        ("${{ success() }}", "only allowed in if"),
        ("${{ github.event }}", "use toJSON"),
        ("${{ inputs.n ", "unclosed"),
    ],
)
def test_unsupported_expressions_name_the_expression(
    tmp_path: Path, expr: str, message: str
) -> None:
    text = f"""
        on:
          workflow_dispatch:
            inputs:
              n: {{default: "1"}}
        jobs:
          j:
            steps:
              - id: s
                run: echo
              - env:
                  X: {json.dumps(expr)}
                run: echo "$X"
    """
    with pytest.raises(WorkflowError, match=message) as info:
        run(tmp_path, text)
    assert "env.X" in str(info.value)


def test_if_mixing_expression_and_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="always true"):
        run(
            tmp_path,
            """
            on: workflow_dispatch
            jobs:
              j:
                steps:
                  - if: ${{ false }} && true
                    run: echo
            """,
        )


# ------------------------------------------------------------------------------------------
# uses:, contexts, masking, annotations
# ------------------------------------------------------------------------------------------

CHECKOUT = """
        on: workflow_dispatch
        jobs:
          j:
            steps:
              - id: checkout
                uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
                with:
                  fetch-depth: 0
                  persist-credentials: false
                  ref: ${{ github.ref_name }}
              - id: setup
                uses: astral-sh/setup-uv@v6
              - run: |
                  git log --format=%s -1
                  git branch --show-current
                  uv --version
"""


def test_uses_steps_call_local_replacements(tmp_path: Path, repo: Repo) -> None:
    seen: list[StepContext] = []
    branch = repo.git("branch", "--show-current").strip()

    def checkout(ctx: StepContext) -> None:
        seen.append(ctx)
        assert ctx.env["GITHUB_WORKSPACE"] == str(ctx.workdir)
        ctx.run(["git", "clone", "--quiet", "-b", ctx.input("ref"), str(repo.remote), "."])
        ctx.set_output("ref", ctx.input("ref"))

    def setup_uv(ctx: StepContext) -> None:
        tool = ctx.runner_temp / "uvbin"
        tool.mkdir()
        (tool / "uv").write_text("#!/bin/sh\necho uv 0.0-fake\n")
        (tool / "uv").chmod(0o755)
        ctx.add_path(tool)
        ctx.log("installed uv")

    github = dict(GITHUB, ref=f"refs/heads/{branch}")
    r = run(
        tmp_path,
        CHECKOUT,
        github=github,
        env=GIT_ENV,
        uses={"actions/checkout": checkout, "astral-sh/setup-uv": setup_uv},
    )
    assert r.conclusion == "success", r.log()
    (ctx,) = seen
    assert ctx.with_ == {"fetch-depth": "0", "persist-credentials": "false", "ref": branch}
    assert ctx.env["INPUT_FETCH-DEPTH"] == "0"
    assert ctx.uses == "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"
    assert r.step("checkout").outputs == {"ref": branch}
    assert r.step("setup").stdout == "installed uv\n"
    last = r.steps[-1].stdout.splitlines()
    assert last[1:] == [branch, "uv 0.0-fake"]
    assert (tmp_path / "ws" / "README.md").exists()

    with pytest.raises(WorkflowError, match="no local replacement for uses: actions/checkout"):
        run(tmp_path, CHECKOUT, github=github, uses={})


def test_failing_replacement_fails_its_step(tmp_path: Path) -> None:
    def checkout(ctx: StepContext) -> None:
        ctx.fail("remote not reachable")

    r = run(tmp_path, CHECKOUT, uses={"actions/checkout": checkout})
    assert r.conclusion == "failure"
    assert r.step("checkout").error == "remote not reachable"
    assert r.ran() == ["checkout"]


def test_contexts_defaults_masking_and_annotations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "host-token")  # the host's variables do not leak in
    monkeypatch.setenv("ANTHROPIC_API_KEY", "host-key")
    r = run(
        tmp_path,
        """
        on:
          workflow_dispatch:
            inputs:
              issue_number: {required: true, type: number}
              model_name: {required: false}
        jobs:
          j:
            steps:
              - id: check
                env:
                  KEY: ${{ secrets.ANTHROPIC_API_KEY }}
                  GH_TOKEN: ${{ secrets.LEARN_PAT || secrets.GITHUB_TOKEN }}
                  PAT_SET: ${{ secrets.LEARN_PAT != '' }}
                  MODEL: ${{ inputs.model_name || 'claude-haiku-4-5' }}
                  TITLE: "${{ format('learn #{0} by {1} on {2}', inputs.issue_number, github.actor, runner.os) }}"
                  URL: ${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}
                  FLAGS: ${{ contains(github.ref, 'main') }} ${{ startsWith(github.repository, 'ACME/') }}
                  VAR: ${{ vars.LEARN_LABEL || 'learned' }}
                run: |
                  echo "$KEY $GH_TOKEN $PAT_SET $MODEL ${ANTHROPIC_API_KEY:-unset}"
                  echo "$TITLE | $URL | $FLAGS | $VAR"
                  echo "$GITHUB_RUN_ID $GITHUB_API_URL $GITHUB_EVENT_NAME $CI $GITHUB_ACTIONS ${GITHUB_TOKEN:-no-token-env}"
                  grep -q '"issue_number": "5"' "$GITHUB_EVENT_PATH" && echo event-ok
                  echo "::add-mask::hunter2"
                  echo "::error title=Missing secret::LEARN_PAT is not set%0Ausing GITHUB_TOKEN"
                  echo "::warning::careful" >&2
                  echo "password hunter2"
        """,
        inputs={"issue_number": 5},
        secrets={"ANTHROPIC_API_KEY": "sk-ant-secret"},
    )
    s = r.step("check")
    assert s.stdout.splitlines()[:4] == [
        "sk-ant-secret ghs_job_token false claude-haiku-4-5 unset",
        "learn #5 by octocat on Linux | https://github.example/acme/widgets/actions/runs/4242"
        " | true true | learned",
        "4242 http://127.0.0.1:9 workflow_dispatch true true no-token-env",
        "event-ok",
    ], r.log()
    assert s.env["GH_TOKEN"] == "ghs_job_token"
    assert [(a.level, a.message, a.properties) for a in r.annotations] == [
        ("error", "LEARN_PAT is not set\nusing GITHUB_TOKEN", {"title": "Missing secret"}),
        ("warning", "careful", {}),
    ]
    log = r.log()
    assert "sk-ant-secret" not in log and "ghs_job_token" not in log and "hunter2" not in log
    assert "*** *** false" in log and "password ***" in log


# ------------------------------------------------------------------------------------------
# The expression engine
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("1 == '1'", True),
        ("'ABC' == 'abc'", True),
        ("'' == null", True),
        ("null == 0", True),
        ("true == 1", True),
        ("'abc' == 0", False),
        ("'abc' != 0", True),
        ("2 > '10'", False),
        ("'b' > 'A'", True),
        ("!''", True),
        ("!'false'", False),  # a non-empty string is truthy
        ("'' || 'fallback'", "fallback"),
        ("'x' && 'y'", "y"),
        ("0 && 'y'", 0.0),
        ("(1 == 2) || (2 == 2) && 'yes'", "yes"),
        ("format('{0}-{{1}}-{1}', 'a', 3)", "a-{1}-3"),
        ("join(fromJSON('[1, \"two\", true]'), '+')", "1+two+true"),
        ("toJSON(fromJSON('{\"a\": [1, null]}'))", '{\n  "a": [\n    1,\n    null\n  ]\n}'),
        ("contains(fromJSON('[\"bug\", \"Docs\"]'), 'docs')", True),
        ("endsWith('learn.yml', '.YML')", True),
        ("obj.labels.*.name", ["erk-plan", "learn"]),
        ("obj['labels'][1].name", "learn"),
        ("obj.missing.deeper", None),
        ("0x10 == 16 && -1.5e1 == -15", True),
        ("always() && !cancelled() && failure()", True),
    ],
)
def test_expression_semantics(expr: str, expected: object) -> None:
    contexts = {"obj": {"labels": [{"name": "erk-plan"}, {"name": "learn"}]}}
    assert evaluate(f"${{{{ {expr} }}}}", contexts, status="failure") == expected


def test_expression_nan() -> None:
    assert math.isnan(evaluate("NaN", {}))
    assert evaluate("NaN == NaN", {}) is False
