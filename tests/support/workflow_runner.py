"""Run one job of a GitHub Actions workflow on this machine, step by step - for tests.

A small, honest local runner, **not** an Actions emulator: no containers, services, matrices,
``needs``, JavaScript/Docker actions or ``hashFiles``. What it does do, it does the way the
Actions runner (``actions/runner``) does::

    result = run_job(
        WORKFLOW, "learn",
        inputs={"issue_number": 42}, secrets={"ANTHROPIC_API_KEY": "sk-test"},
        github={"repository": "acme/widgets", "run_id": 7, "token": "t0ken", ...},
        env={"HOME": str(home), "PATH": f"{fake_bin}:{os.environ['PATH']}"},
        workdir=tmp_path / "ws",
        uses={"actions/checkout": clone_remote, "astral-sh/setup-uv": noop},
    )
    assert result.conclusion == "success", result.log()
    assert result.step("publish").outputs["pr_url"].endswith("/pull/43")

* **YAML** is read the way GitHub reads it: ``on:`` stays the key ``"on"`` and only
  ``true``/``false`` are booleans (PyYAML's YAML 1.1 would turn ``on``/``yes``/``off`` into
  booleans; a document whose keys are already ``True`` is accepted too).
* **run:** steps are written to a temporary script and run like the runner does: no ``shell``
  -> ``bash -e {0}`` (note: *no* pipefail), ``shell: bash`` -> ``bash --noprofile --norc -eo
  pipefail {0}``, ``sh`` -> ``sh -e {0}``, ``python`` -> ``python {0}``, or a custom template
  with ``{0}``; also from ``defaults.run`` of the workflow/job. cwd is ``workdir``, or the
  (templated) ``working-directory`` relative to it. A ``run:`` that contains ``${{`` is
  **refused**: :class:`WorkflowError` ("expression inside run:") before any step runs - values
  must reach scripts through ``env:``.
* **uses:** steps call a local replacement looked up by the action name before ``@`` (``uses=
  {"actions/checkout": fn}``) with a :class:`StepContext`; a missing one raises
  :class:`WorkflowError` "no local replacement for uses: X" when the step would run.
* **Composite actions**: ``uses: ./path`` (from the workspace) and ``uses: owner/repo/path@sha``
  with ``actions={"owner/repo": local_clone}`` (extracted at that commit under
  ``RUNNER_TEMP/_actions``) run their steps: declared inputs with defaults (unknown ``with:``
  keys refused), ``shell:`` required, no ``secrets`` context, ``GITHUB_ACTION_PATH``, the
  action's own ``steps`` context and status functions; outputs, summaries and logs go to the
  calling step, whose :attr:`StepResult.steps` holds the action's steps. ``cancel_after`` may
  name one of them.
* **Expressions** (``${{ }}``) in workflow/job/step ``env``, ``with``, ``if``, ``name``,
  ``working-directory``, ``continue-on-error``, ``timeout-minutes``, job ``outputs`` and
  ``run-name`` (see :func:`render_run_name`), evaluated by GitHub's own
  ``@actions/expressions`` (see ``tests/support/expressions.py``: npm-installed on first use,
  one node process per test process; without node/npm the test is skipped, or fails under
  ``CI``). Contexts: ``inputs``, ``github`` (incl. ``github.event.inputs``), ``secrets``,
  ``vars``, ``env``, ``steps.<id>.outputs.<name>`` / ``.outcome`` / ``.conclusion``,
  ``job.status``, ``runner.{temp,os,arch,name}``. ``success() failure() cancelled()
  always()`` in ``if:`` only; an ``if:`` without one means ``success() && (...)``; ``${{ }}``
  around an ``if:`` is optional. Unknown contexts/functions (also ``hashFiles``), and typos
  the runner can detect (an undeclared ``inputs.X``, a ``steps.<id>`` that no step has, a
  ``github.X`` not passed in) raise :class:`WorkflowError` naming the expression; unset
  ``secrets``/``vars``/``env`` are ``''`` as on GitHub.
* **File commands**: fresh ``GITHUB_OUTPUT``/``GITHUB_ENV``/``GITHUB_PATH``/
  ``GITHUB_STEP_SUMMARY``/``GITHUB_STATE`` files per step (``name=value`` and ``name<<DELIM``
  heredocs). Outputs belong to steps with an ``id``; GITHUB_ENV updates the job's env for later
  steps (a later step's own ``env:`` still wins; ``GITHUB_*``/``RUNNER_*`` cannot be
  overridden); GITHUB_PATH entries are prepended to later steps' PATH (newest first); summaries
  are concatenated into :attr:`JobResult.summary`. Workflow commands ``::error|warning|notice``
  become :class:`Annotation` s and ``::add-mask::`` values are masked in :meth:`JobResult.log`
  (as are secrets; values shorter than 4 characters are left alone). Captured stdout/stderr
  stay raw, so a test can check what a step printed.
* **Status**: after a failure only steps whose ``if:`` says so run (``failure()``,
  ``always()``, ``!cancelled()``...); ``continue-on-error`` keeps the job green (outcome
  ``failure``, conclusion ``success``); a step exceeding its ``timeout-minutes`` fails;
  ``cancel_after="<step id or name>"`` cancels the job right after that step, and the overall
  ``timeout`` (seconds, also capped by the job's ``timeout-minutes``) cancels the job like a
  job timeout (the running step is interrupted: SIGINT, SIGTERM, SIGKILL to its process group,
  outcome ``cancelled``); either way only steps whose condition allows it (``always()``,
  ``cancelled()``) run afterwards, each within a fresh ``timeout``.
* **Environment** of a step (lowest to highest): an allow-list of this process's variables
  (``PATH``, ``HOME``, locale, ``TMPDIR``... - never tokens), the ``env=`` argument (the
  runner machine), workflow ``env`` + job ``env`` + GITHUB_ENV, the step's ``env``, then the
  default variables: ``CI``, ``GITHUB_ACTIONS``, ``GITHUB_WORKSPACE``, ``GITHUB_*`` from the
  ``github`` dict (``run_id`` -> ``GITHUB_RUN_ID``, ``api_url`` -> ``GITHUB_API_URL``...),
  ``GITHUB_EVENT_PATH`` (the event JSON), ``RUNNER_TEMP``/``RUNNER_OS``... ``GITHUB_TOKEN`` is
  never set implicitly (``secrets.GITHUB_TOKEN`` is ``github["token"]``, as on GitHub).

Also :func:`load_workflow`, :func:`workflow_inputs` (the ``workflow_dispatch`` inputs),
:func:`run_commands` (every ``run:`` script), :func:`uses_of` (every ``uses:``, for SHA-pin
checks), :func:`iter_steps` and :func:`render_run_name` for contract tests.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from tests.support import expressions
from tests.support.expressions import CaseSensitive as _CaseSensitive
from tests.support.expressions import ExpressionError, Result, split_template, to_str
from tests.support.expressions import Strict as _Strict
from tests.support.expressions import truthy as _truthy

__all__ = [
    "Annotation",
    "JobResult",
    "StepContext",
    "StepFailed",
    "StepResult",
    "WorkflowError",
    "evaluate",
    "iter_steps",
    "load_workflow",
    "render_run_name",
    "render_template",
    "run_commands",
    "run_job",
    "uses_of",
    "workflow_inputs",
]


class WorkflowError(Exception):
    """The workflow uses something this runner does not support, is invalid, or a test passed
    inconsistent arguments. Not a step failure: the test should fail loudly."""


class StepFailed(Exception):
    """Raised by a ``uses:`` replacement (or :meth:`StepContext.fail`) to fail its step."""


# --------------------------------------------------------------------------------------------
# YAML, read like GitHub reads it
# --------------------------------------------------------------------------------------------

_BOOL_TAG = "tag:yaml.org,2002:bool"


class _GitHubLoader(yaml.SafeLoader):
    """SafeLoader where only ``true``/``false`` (any case form YAML 1.2 allows) are booleans."""


_GitHubLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_GitHubLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_workflow(workflow: Path | str | Mapping[Any, Any]) -> dict[str, Any]:
    """The workflow as a dict whose trigger key is ``"on"`` (never ``True``)."""
    if isinstance(workflow, Mapping):
        doc: Any = dict(workflow)
    else:
        doc = yaml.load(Path(workflow).read_text(encoding="utf-8"), Loader=_GitHubLoader)
    if not isinstance(doc, dict):
        raise WorkflowError(f"{workflow}: not a YAML mapping")
    if True in doc:  # parsed elsewhere with YAML 1.1 rules
        doc["on"] = doc.pop(True)
    return doc


def workflow_inputs(workflow: Path | str | Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``on.workflow_dispatch.inputs`` declaration (``{}`` when there is none)."""
    on = load_workflow(workflow).get("on")
    if not isinstance(on, dict):
        return {}
    wd = on.get("workflow_dispatch")
    if not isinstance(wd, dict) or not isinstance(wd.get("inputs"), dict):
        return {}
    return {str(k): dict(v or {}) for k, v in wd["inputs"].items()}


def run_commands(workflow: Path | str | Mapping[str, Any], job: str | None = None) -> list[str]:
    """Every ``run:`` script of the workflow (or of one job), in order."""
    doc = load_workflow(workflow)
    out: list[str] = []
    for name, spec in (doc.get("jobs") or {}).items():
        if job is not None and name != job:
            continue
        for step in (spec or {}).get("steps") or []:
            if isinstance(step, dict) and "run" in step:
                out.append(_yaml_str(step["run"]))
    return out


# --------------------------------------------------------------------------------------------
# Expressions: evaluated by GitHub's @actions/expressions (tests/support/expressions.py)
# --------------------------------------------------------------------------------------------


@dataclass
class _Scope:
    contexts: dict[str, Any]
    status: str = "success"  # the job status seen by success()/failure()/cancelled()


def _json_ready(v: Any) -> Any:
    if isinstance(v, float) and not isinstance(v, bool) and v == int(v) and abs(v) < 1e15:
        return int(v)
    if isinstance(v, dict):
        return {k: _json_ready(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_ready(x) for x in v]
    return v


def _to_str(v: Any) -> str:
    try:
        return to_str(v)
    except ExpressionError as e:
        raise WorkflowError(str(e)) from None


def _evaluate_src(src: str, scope: _Scope, *, condition: bool = False) -> Result:
    try:
        return expressions.evaluate(
            src, scope.contexts, status=scope.status if condition else None, condition=condition
        )
    except ExpressionError as e:
        quoted = "Unexpected symbol: '\"" in str(e)
        hint = " (GitHub expressions quote strings with ')" if quoted else ""
        raise WorkflowError(f"{e}{hint} in expression {src.strip()!r}") from None


def _split(text: str) -> list[str | tuple[str]]:
    try:
        return split_template(text)
    except ExpressionError as e:
        raise WorkflowError(str(e)) from None


def _render(value: Any, scope: _Scope) -> Any:
    """A YAML scalar with any ``${{ }}`` evaluated. A value that is exactly one expression
    keeps the expression's type; otherwise the result is a string."""
    if not isinstance(value, str):
        return value
    parts = _split(value)
    if len(parts) == 1 and isinstance(parts[0], tuple) and value.strip() == value:
        return _evaluate_src(parts[0][0], scope).value
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        text = _evaluate_src(part[0], scope).text
        if text is None:
            raise WorkflowError(
                f"cannot turn an array or object into a string (use toJSON()) in {value!r}"
            )
        out.append(text)
    return "".join(out)


def _render_str(value: Any, scope: _Scope) -> str:
    return _to_str(_render(value, scope))


def _condition(cond: Any, scope: _Scope, *, where: str) -> bool:
    """An ``if:``: with or without ``${{ }}``; no status function means ``success() && ...``."""
    if cond is None:
        src = "success()"
    elif isinstance(cond, bool | int | float):
        src = _to_str(cond)
    else:
        src = str(cond).strip()
        if "${{" in src:
            parts = _split(src)
            if len(parts) != 1 or not isinstance(parts[0], tuple):
                raise WorkflowError(
                    f"{where}: if: {src!r} mixes ${{{{ }}}} with other text - GitHub would "
                    "evaluate it as a non-empty string, i.e. always true"
                )
            src = parts[0][0]
    try:
        return _evaluate_src(src, scope, condition=True).truthy
    except WorkflowError as e:
        raise WorkflowError(f"{where}: {e}") from None


def evaluate(expression: str, contexts: Mapping[str, Any], *, status: str = "success") -> Any:
    """Evaluate one expression (with or without ``${{ }}``) against plain context dicts -
    for tests of the engine itself."""
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    try:
        return expressions.evaluate(text, contexts, status=status).value
    except ExpressionError as e:
        raise WorkflowError(f"{e} in expression {text.strip()!r}") from None


def render_template(text: str, contexts: Mapping[str, Any]) -> str:
    """A string with ``${{ }}`` parts evaluated against plain context dicts."""
    return _render_str(text, _Scope(dict(contexts)))


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _typed_inputs(
    declared: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(the ``inputs`` context with types and defaults, ``github.event.inputs`` - strings)."""
    if not declared:
        return dict(given), {k: _input_str(v) for k, v in given.items()}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise WorkflowError(
            f"unexpected inputs {unknown}; the workflow declares {sorted(declared)}"
        )
    typed: dict[str, Any] = {}
    event: dict[str, str] = {}
    for name, spec in declared.items():
        kind = str(spec.get("type") or "string")
        if name in given and given[name] is not None:
            raw: Any = given[name]
        elif "default" in spec:
            raw = spec["default"]
        elif spec.get("required"):
            raise WorkflowError(f"required input {name!r} not provided")
        else:
            raw = None
        if kind == "number":
            if raw is None or raw == "":
                value: Any = None
            else:
                try:
                    value = float(raw) if not isinstance(raw, bool) else math.nan
                except (TypeError, ValueError):
                    value = math.nan
                if math.isnan(value):
                    raise WorkflowError(f"input {name!r} is a number, got {raw!r}")
        elif kind == "boolean":
            if isinstance(raw, bool):
                value = raw
            elif raw is None:
                value = False
            elif str(raw).lower() in ("true", "false"):
                value = str(raw).lower() == "true"
            else:
                raise WorkflowError(f"input {name!r} is a boolean, got {raw!r}")
        else:
            value = "" if raw is None else _input_str(raw)
            options = spec.get("options")
            if kind == "choice" and options and value not in [str(o) for o in options]:
                raise WorkflowError(f"input {name!r} must be one of {options}, got {value!r}")
        typed[name] = value
        event[name] = _input_str(value)
    return typed, event


def _input_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float | int):
        return to_str(v)
    return "" if v is None else str(v)


def render_run_name(
    workflow: Path | str | Mapping[str, Any],
    inputs: Mapping[str, Any],
    github: Mapping[str, Any] | None = None,
    vars: Mapping[str, str] | None = None,
) -> str:
    """The run's display title for a ``workflow_dispatch`` with these inputs: the workflow's
    ``run-name`` evaluated (``github``/``inputs``/``vars`` contexts), else its ``name``."""
    doc = load_workflow(workflow)
    typed, event_inputs = _typed_inputs(workflow_inputs(doc), inputs)
    gh = {"event_name": "workflow_dispatch", **(github or {})}
    gh["event"] = {"inputs": event_inputs, **(gh.get("event") or {})}
    template = doc.get("run-name")
    if template is None:
        return str(doc.get("name") or "")
    scope = _Scope(
        {
            "github": _Strict(gh, "github", " (pass it in github=)"),
            "inputs": _Strict(typed, "inputs", " (not declared by the workflow)"),
            "vars": dict(vars or {}),
        }
    )
    return _render_str(template, scope)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class Annotation:
    level: str  # error | warning | notice
    message: str
    properties: dict[str, str] = field(default_factory=dict)
    step: str = ""

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


@dataclass
class StepResult:
    index: int
    id: str | None
    name: str
    kind: str  # "run" | "uses"
    outcome: str = "skipped"  # success | failure | cancelled | skipped (before continue-on-error)
    conclusion: str = "skipped"  # after continue-on-error
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the runner's explanation of a failure
    env: dict[str, str] = field(default_factory=dict)  # workflow/job/GITHUB_ENV/step env
    with_: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    annotations: list[Annotation] = field(default_factory=list)
    duration: float = 0.0
    steps: list[StepResult] = field(default_factory=list)  # a composite action's own steps

    def step(self, id_or_name: str) -> StepResult:
        """One step of the composite action this step ran (by id, else name)."""
        for s in [*(s for s in self.steps if s.id == id_or_name), *self.steps]:
            if s.id == id_or_name or s.name == id_or_name:
                return s
        raise KeyError(f"no step {id_or_name!r} in {self.key}: {[s.key for s in self.steps]}")

    @property
    def ran(self) -> bool:
        return self.outcome != "skipped"

    @property
    def key(self) -> str:
        return self.id or self.name


@dataclass
class JobResult:
    job: str
    conclusion: str  # success | failure | cancelled | skipped
    steps: list[StepResult]
    summary: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # job env at the end (with GITHUB_ENV)
    masks: list[str] = field(default_factory=list, repr=False)

    @property
    def annotations(self) -> list[Annotation]:
        return [a for s in self.steps for a in s.annotations]

    def step(self, id_or_name: str) -> StepResult:
        for s in self.steps:
            if s.id == id_or_name:
                return s
        for s in self.steps:
            if s.name == id_or_name:
                return s
        raise KeyError(f"no step {id_or_name!r}; steps: {[s.id or s.name for s in self.steps]}")

    def ran(self) -> list[str]:
        """Keys (id, else name) of the steps that ran."""
        return [s.key for s in self.steps if s.ran]

    def mask(self, text: str) -> str:
        for m in sorted(self.masks, key=len, reverse=True):
            text = text.replace(m, "***")
        return text

    def log(self, tail: int = 40) -> str:
        """A readable account (secrets masked) for assertion messages."""
        lines = [f"job {self.job}: {self.conclusion}"]
        for s in self.steps:
            extra = f" exit={s.exit_code}" if s.exit_code not in (None, 0) else ""
            coe = f" (continue-on-error -> {s.conclusion})" if s.conclusion != s.outcome else ""
            ident = f" [{s.id}]" if s.id else ""
            lines.append(f"  {s.outcome:<9} {s.name}{ident}{extra}{coe}")
            for label, text in (("out", s.stdout), ("err", s.stderr)):
                body = text.rstrip("\n").splitlines()
                if len(body) > tail:
                    lines.append(f"      {label}| ... ({len(body) - tail} lines)")
                    body = body[-tail:]
                lines.extend(f"      {label}| {ln}" for ln in body)
            if s.outputs:
                lines.append(f"      outputs: {s.outputs}")
            if s.error:
                lines.append(f"      error: {s.error}")
        if self.summary:
            lines.append("  summary:")
            lines.extend(f"      {ln}" for ln in self.summary.rstrip("\n").splitlines())
        return self.mask("\n".join(lines))

    def __str__(self) -> str:
        return self.log()


# --------------------------------------------------------------------------------------------
# uses: replacements
# --------------------------------------------------------------------------------------------


def _heredoc(name: str, value: str) -> str:
    delim = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delim}\n{value}\n{delim}\n"


@dataclass
class StepContext:
    """What a ``uses:`` replacement gets. Outputs, env and PATH changes go through the same
    file commands a real action writes, so they follow the same rules."""

    id: str | None
    name: str
    uses: str  # as written, e.g. "actions/checkout@<sha>"
    with_: dict[str, str]  # the step's with:, evaluated
    env: dict[str, str]  # the full environment the action would get (incl. INPUT_*)
    workdir: Path  # GITHUB_WORKSPACE
    github: dict[str, Any]  # the github context
    runner_temp: Path
    files: dict[str, Path]  # GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STEP_SUMMARY
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def input(self, name: str, default: str = "") -> str:
        for k, v in self.with_.items():
            if k.lower() == name.lower():
                return v
        return default

    def set_output(self, name: str, value: str) -> None:
        self._append("GITHUB_OUTPUT", _heredoc(name, value))

    def export_env(self, name: str, value: str) -> None:
        self._append("GITHUB_ENV", _heredoc(name, value))

    def add_path(self, path: str | Path) -> None:
        self._append("GITHUB_PATH", f"{path}\n")

    def add_summary(self, markdown: str) -> None:
        self._append("GITHUB_STEP_SUMMARY", markdown)

    def log(self, *lines: str) -> None:
        self.stdout.extend(f"{ln}\n" for ln in lines)

    def annotate(self, level: str, message: str) -> None:
        """``::error::``/``::warning::``/``::notice::`` on stdout, as actions do."""
        esc = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        self.log(f"::{level}::{esc}")

    def fail(self, message: str) -> NoReturn:
        raise StepFailed(message)

    def run(
        self,
        args: list[str] | str,
        *,
        check: bool = True,
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float | None = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the workspace with the step's environment; its output goes to the
        step's log. ``check``: a non-zero exit fails the step."""
        cp = subprocess.run(
            args,
            cwd=cwd or self.workdir,
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            shell=isinstance(args, str),
            timeout=timeout,
        )
        self.stdout.append(cp.stdout)
        self.stderr.append(cp.stderr)
        if check and cp.returncode != 0:
            raise StepFailed(f"{args!r} exited with {cp.returncode}: {cp.stderr.strip()[-500:]}")
        return cp

    def _append(self, key: str, text: str) -> None:
        with self.files[key].open("a", encoding="utf-8") as f:
            f.write(text)


# --------------------------------------------------------------------------------------------
# The runner
# --------------------------------------------------------------------------------------------

_BASE_VARS = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TZ",
    "TERM",
)
_GITHUB_VARS = {
    "action": "GITHUB_ACTION",
    "actor": "GITHUB_ACTOR",
    "actor_id": "GITHUB_ACTOR_ID",
    "api_url": "GITHUB_API_URL",
    "base_ref": "GITHUB_BASE_REF",
    "event_name": "GITHUB_EVENT_NAME",
    "event_path": "GITHUB_EVENT_PATH",
    "graphql_url": "GITHUB_GRAPHQL_URL",
    "head_ref": "GITHUB_HEAD_REF",
    "job": "GITHUB_JOB",
    "ref": "GITHUB_REF",
    "ref_name": "GITHUB_REF_NAME",
    "ref_protected": "GITHUB_REF_PROTECTED",
    "ref_type": "GITHUB_REF_TYPE",
    "repository": "GITHUB_REPOSITORY",
    "repository_id": "GITHUB_REPOSITORY_ID",
    "repository_owner": "GITHUB_REPOSITORY_OWNER",
    "repository_owner_id": "GITHUB_REPOSITORY_OWNER_ID",
    "retention_days": "GITHUB_RETENTION_DAYS",
    "run_attempt": "GITHUB_RUN_ATTEMPT",
    "run_id": "GITHUB_RUN_ID",
    "run_number": "GITHUB_RUN_NUMBER",
    "server_url": "GITHUB_SERVER_URL",
    "sha": "GITHUB_SHA",
    "triggering_actor": "GITHUB_TRIGGERING_ACTOR",
    "workflow": "GITHUB_WORKFLOW",
    "workflow_ref": "GITHUB_WORKFLOW_REF",
    "workflow_sha": "GITHUB_WORKFLOW_SHA",
    "workspace": "GITHUB_WORKSPACE",
}
_SHELLS = {
    None: "bash -e {0}",
    "bash": "bash --noprofile --norc -eo pipefail {0}",
    "sh": "sh -e {0}",
    "python": "python {0}",
}
_SHELL_EXT = {"python": ".py"}
_FILE_COMMANDS = (
    "GITHUB_OUTPUT",
    "GITHUB_ENV",
    "GITHUB_PATH",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_STATE",
)
_COMMAND_RE = re.compile(r"^\s*::([A-Za-z-]+)(?: ([^:]*))?::(.*)$")
_MIN_MASK = 4  # shorter secrets are not masked in log() (they would garble it)
_KILL_GRACE = (1.0, 1.0)  # seconds after SIGINT, then after SIGTERM, before SIGKILL


def _yaml_str(v: Any) -> str:
    """An env/with value as YAML gave it (``true`` -> ``"true"``, ``1.0`` -> ``"1"``...)."""
    return (
        _to_str(float(v)) if isinstance(v, int | float) and not isinstance(v, bool) else _to_str(v)
    )


def _parse_file_command(path: Path, what: str) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIM`` heredocs, as the runner parses them."""
    if not path.exists():
        return {}
    lines = path.read_text(encoding="utf-8").split("\n")
    out: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if not line:
            continue
        eq, hd = line.find("="), line.find("<<")
        if eq >= 0 and (hd < 0 or eq < hd):
            name, value = line[:eq], line[eq + 1 :]
        elif hd >= 0:
            name, delim = line[:hd], line[hd + 2 :]
            if not delim:
                raise StepFailed(f"{what}: invalid format {line!r} (empty delimiter)")
            body: list[str] = []
            while True:
                if i >= len(lines):
                    raise StepFailed(f"{what}: matching delimiter not found {delim!r}")
                ln = lines[i].rstrip("\r")
                i += 1
                if ln == delim:
                    break
                body.append(ln)
            value = "\n".join(body)
        else:
            raise StepFailed(f"{what}: invalid format {line!r}")
        if not name:
            raise StepFailed(f"{what}: invalid format {line!r} (no name)")
        out[name] = value
    return out


def _unescape(text: str, prop: bool = False) -> str:
    text = text.replace("%0D", "\r").replace("%0A", "\n")
    if prop:
        text = text.replace("%3A", ":").replace("%2C", ",")
    return text.replace("%25", "%")


def _workflow_commands(text: str, step: str) -> tuple[list[Annotation], list[str]]:
    annotations: list[Annotation] = []
    masks: list[str] = []
    for line in text.splitlines():
        m = _COMMAND_RE.match(line)
        if not m:
            continue
        cmd, props_s, msg = m.group(1).lower(), m.group(2) or "", m.group(3)
        if cmd in ("error", "warning", "notice"):
            props = {}
            for part in filter(None, props_s.split(",")):
                k, _, v = part.partition("=")
                props[k.strip()] = _unescape(v, prop=True)
            annotations.append(Annotation(cmd, _unescape(msg), props, step))
        elif cmd == "add-mask" and len(msg) >= _MIN_MASK:
            masks.append(_unescape(msg))
    return annotations, masks


def _kill_group(p: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Interrupt a step like a cancelled runner does: SIGINT, SIGTERM, then SIGKILL."""
    for sig, grace in ((signal.SIGINT, _KILL_GRACE[0]), (signal.SIGTERM, _KILL_GRACE[1])):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, sig)
        try:
            return p.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, signal.SIGKILL)
    try:
        return p.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a grandchild left its own group holding the pipes
        for stream in (p.stdout, p.stderr):
            if stream is not None:
                stream.close()
        p.wait()
        return b"", b""


class _Job:
    def __init__(
        self,
        workflow: Path | str | Mapping[str, Any],
        job: str,
        *,
        inputs: Mapping[str, Any],
        secrets: Mapping[str, str],
        github: Mapping[str, Any],
        vars: Mapping[str, str],
        env: Mapping[str, str],
        workdir: Path,
        uses: Mapping[str, Callable[[StepContext], None]],
        actions: Mapping[str, Path],
        cancel_after: str | None,
        timeout: float,
        runner_temp: Path,
    ) -> None:
        self.doc = load_workflow(workflow)
        jobs = self.doc.get("jobs") or {}
        if job not in jobs:
            raise WorkflowError(f"no job {job!r}; jobs: {sorted(jobs)}")
        self.job_id = job
        self.spec: dict[str, Any] = jobs[job] or {}
        for unsupported in ("strategy", "container", "services", "uses"):
            if unsupported in self.spec:
                raise WorkflowError(f"job {job!r}: {unsupported}: is not supported by this runner")
        self.steps: list[dict[str, Any]] = list(self.spec.get("steps") or [])
        self._check_steps()
        self.workdir = Path(workdir).resolve()
        self.runner_temp = runner_temp
        self.uses = dict(uses)
        self.actions = {k.lower(): Path(v) for k, v in actions.items()}
        self.timeout = timeout
        self.budget = timeout
        self.cancel_after = cancel_after
        composite = bool(self.actions) or any(
            str(s.get("uses", "")).startswith("./") for s in self.steps
        )  # cancel_after may name a step of a composite action, known only when it runs
        if (
            cancel_after is not None
            and not composite
            and not any(cancel_after in (s.get("id"), s.get("name")) for s in self.steps)
        ):
            raise WorkflowError(f"cancel_after={cancel_after!r}: no step with that id or name")

        if github.get("event_name", "workflow_dispatch") == "workflow_dispatch":
            typed, event_inputs = _typed_inputs(workflow_inputs(self.doc), inputs)
        elif inputs:
            raise WorkflowError("inputs= are for workflow_dispatch runs only")
        else:  # another event: every declared input is null, as on GitHub
            typed, event_inputs = dict.fromkeys(workflow_inputs(self.doc)), {}
        self.github = self._github_context(github, event_inputs, workflow)
        event = self.github["event"]
        if workflow_inputs(self.doc) and isinstance(event.get("inputs"), dict):
            event["inputs"] = _Strict(
                event["inputs"], "github.event.inputs", " (not declared by the workflow)"
            )
        self.secrets = {"GITHUB_TOKEN": _to_str(github.get("token")), **dict(secrets)}
        self.masks = [v for v in self.secrets.values() if len(v) >= _MIN_MASK]
        self.step_records: dict[str, Any] = {}
        ids = [s["id"] for s in self.steps if s.get("id")]
        self.contexts: dict[str, Any] = {
            "github": _Strict(self.github, "github", " (pass it to run_job(github={...}))"),
            "inputs": _Strict(typed, "inputs", " (not declared by the workflow)")
            if workflow_inputs(self.doc)
            else dict(typed),
            "secrets": dict(self.secrets),
            "vars": dict(vars),
            "env": _CaseSensitive(),
            "steps": _Strict({}, "steps", " (no step has that id)"),
            "job": {"status": "success"},
            "runner": {
                "os": "Linux",
                "arch": "X64",
                "name": "local-runner",
                "environment": "github-hosted",
                "temp": str(self.runner_temp),
                "tool_cache": str(self.runner_temp / "_tool"),
                "debug": "",
            },
        }
        self.known_ids = set(ids)
        self.status = "success"
        self.cancelled = False
        self.base_env = {k: os.environ[k] for k in _BASE_VARS if k in os.environ}
        self.base_env.update(env)
        self.path_prepend: list[str] = []
        scope = _Scope(self.contexts)
        self.global_env: dict[str, str] = {}
        for src in (self.doc.get("env") or {}, self.spec.get("env") or {}):
            for k, v in src.items():
                self.contexts["env"] = _CaseSensitive(self.global_env)
                self.global_env[str(k)] = _yaml_str(_render(v, scope))
        self.defaults = {
            **((self.doc.get("defaults") or {}).get("run") or {}),
            **((self.spec.get("defaults") or {}).get("run") or {}),
        }

    def _check_steps(self) -> None:
        bad = []
        for n, s in enumerate(self.steps):
            if not isinstance(s, dict) or ("run" in s) == ("uses" in s):
                raise WorkflowError(f"step {n + 1}: needs exactly one of run: / uses:")
            if "run" in s and "${{" in _yaml_str(s["run"]):
                bad.append(str(s.get("id") or s.get("name") or f"#{n + 1}"))
        if bad:
            raise WorkflowError(
                f"expression inside run: in step(s) {bad} - pass values through env: instead"
            )

    def _github_context(
        self, given: Mapping[str, Any], event_inputs: dict[str, str], workflow: Any
    ) -> dict[str, Any]:
        gh: dict[str, Any] = {k: v for k, v in given.items()}
        gh.setdefault("event_name", "workflow_dispatch")
        default_wf = str(self.doc.get("name") or "")
        if not default_wf and isinstance(workflow, str | Path):
            default_wf = f".github/workflows/{Path(workflow).name}"
        gh.setdefault("workflow", default_wf)
        gh.setdefault("job", self.job_id)
        gh.setdefault("workspace", str(self.workdir))
        gh.setdefault("run_attempt", "1")
        gh.setdefault("action", "")
        gh.setdefault("retention_days", "90")
        if "repository" in gh:
            gh.setdefault("repository_owner", str(gh["repository"]).split("/", 1)[0])
        if "ref" in gh:
            ref = str(gh["ref"])
            gh.setdefault("ref_name", ref.split("/", 2)[-1] if ref.startswith("refs/") else ref)
            gh.setdefault("ref_type", "tag" if ref.startswith("refs/tags/") else "branch")
        if "actor" in gh:
            gh.setdefault("triggering_actor", gh["actor"])
        event = dict(gh.get("event") or {})
        if gh["event_name"] == "workflow_dispatch":
            event.setdefault("inputs", event_inputs)
            if "ref" in gh:
                event.setdefault("ref", gh["ref"])
            if isinstance(workflow, str | Path):
                event.setdefault("workflow", f".github/workflows/{Path(workflow).name}")
        gh["event"] = event
        event_path = self.runner_temp / "_github_workflow" / "event.json"
        event_path.parent.mkdir(parents=True, exist_ok=True)
        event_path.write_text(json.dumps(_json_ready(event), indent=2), encoding="utf-8")
        gh.setdefault("event_path", str(event_path))
        return gh

    # ---- helpers ---------------------------------------------------------------------------

    def _scope(self, env: Mapping[str, str]) -> _Scope:
        self.contexts["env"] = _CaseSensitive(env)
        self.contexts["job"] = {"status": self.status}
        return _Scope(self.contexts, self.status)

    def _fixed_env(self, action: str, files: Mapping[str, Path]) -> dict[str, str]:
        gh = dict(self.github, action=action)
        out = {
            var: _to_str(gh[key])
            for key, var in _GITHUB_VARS.items()
            if key in gh and not isinstance(gh[key], dict | list)
        }
        out.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(self.workdir),
                "RUNNER_TEMP": str(self.runner_temp),
                "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64",
                "RUNNER_NAME": "local-runner",
                "RUNNER_ENVIRONMENT": "github-hosted",
                "RUNNER_TOOL_CACHE": str(self.runner_temp / "_tool"),
            }
        )
        out.update({k: str(v) for k, v in files.items()})
        return out

    def _process_env(
        self, step_env: Mapping[str, str], action: str, files: Mapping[str, Path]
    ) -> dict[str, str]:
        env = {**self.base_env, "CI": "true", **step_env, **self._fixed_env(action, files)}
        if self.path_prepend:
            env["PATH"] = os.pathsep.join([*self.path_prepend, env.get("PATH", "")]).rstrip(
                os.pathsep
            )
        return env

    def _record(self, r: StepResult | None) -> None:
        """Update the ``steps`` context (steps that have not run yet are ``null``)."""
        if r is not None and r.id:
            self.step_records[r.id] = {
                "outputs": dict(r.outputs),
                "outcome": r.outcome,
                "conclusion": r.conclusion,
            }
        self.contexts["steps"] = _Strict(
            {i: self.step_records.get(i) for i in self.known_ids},
            "steps",
            " (no step has that id)",
        )

    # ---- running ---------------------------------------------------------------------------

    def run(self) -> JobResult:
        self._record(None)
        job_if = self.spec.get("if")
        if job_if is not None and not _condition(job_if, self._scope(self.global_env), where="job"):
            return JobResult(self.job_id, "skipped", [], masks=self.masks)
        job_timeout = self.spec.get("timeout-minutes")
        budget = self.timeout
        if job_timeout is not None:
            budget = min(budget, float(_render(job_timeout, self._scope(self.global_env))) * 60)
        self.budget = budget
        deadline = time.monotonic() + budget
        results: list[StepResult] = []
        summaries: list[str] = []
        unnamed = 0
        for n, step in enumerate(self.steps):
            sid = str(step["id"]) if step.get("id") else None
            kind = "run" if "run" in step else "uses"
            if sid is None:
                unnamed += 1
            action = sid or ("__run" if unnamed == 1 else f"__run_{unnamed}")
            res = StepResult(n, sid, self._default_name(step), kind)
            results.append(res)
            where = f"step {res.key!r}"

            # env: the job's env (with GITHUB_ENV updates), then the step's own
            step_env = dict(self.global_env)
            scope = self._scope(step_env)
            for k, v in (step.get("env") or {}).items():
                try:
                    step_env[str(k)] = _yaml_str(_render(v, scope))
                except WorkflowError as e:
                    raise WorkflowError(f"{where}: env.{k}: {e}") from None
            res.env = step_env
            scope = self._scope(step_env)
            if "name" in step:
                try:
                    res.name = _render_str(step["name"], scope)
                except WorkflowError as e:
                    raise WorkflowError(f"{where}: name: {e}") from None
            if not _condition(step.get("if"), scope, where=where):
                self._record(res)
                self._maybe_cancel(step)
                continue

            if self.cancelled:  # cleanup after a cancellation gets a fresh budget
                deadline = max(deadline, time.monotonic() + self.timeout)
            step_timeout = deadline - time.monotonic()
            by_step = False
            if step.get("timeout-minutes") is not None:
                minutes = float(_render(step["timeout-minutes"], scope))
                if minutes * 60 < step_timeout:
                    step_timeout, by_step = minutes * 60, True

            files = self._fresh_files(n)
            started = time.monotonic()
            if kind == "run":
                self._run_script(res, step, step_env, action, files, scope, step_timeout, by_step)
            else:
                self._run_uses(res, step, step_env, action, files, scope, step_timeout)
            res.duration = time.monotonic() - started

            try:
                self._apply_files(res, files)
            except StepFailed as e:
                res.outcome = "failure"
                res.error = f"{res.error}; {e}" if res.error else str(e)
            summaries.append(res.summary)
            res.annotations, masks = _workflow_commands(res.stdout + "\n" + res.stderr, res.key)
            self.masks.extend(masks)

            res.conclusion = res.outcome
            if res.outcome == "failure":
                coe = step.get("continue-on-error", False)
                if _truthy(_render(coe, scope)):
                    res.conclusion = "success"
            if res.outcome == "cancelled" and not self.cancelled:
                self._cancel()
            if res.conclusion == "failure" and not self.cancelled:
                self.status = "failure"
            self._record(res)
            self._maybe_cancel(step)

        conclusion = self.status
        outputs = {}
        scope = self._scope(self.global_env)
        for k, v in (self.spec.get("outputs") or {}).items():
            outputs[str(k)] = _render_str(v, scope)
        return JobResult(
            job=self.job_id,
            conclusion=conclusion,
            steps=results,
            summary="".join(summaries),
            outputs=outputs,
            env=dict(self.global_env),
            masks=self.masks,
        )

    def _cancel(self) -> None:
        self.cancelled = True
        self.status = "cancelled"

    def _maybe_cancel(self, step: Mapping[str, Any]) -> None:
        if self.cancel_after is not None and self.cancel_after in (
            step.get("id"),
            step.get("name"),
        ):
            self._cancel()

    @staticmethod
    def _default_name(step: Mapping[str, Any]) -> str:
        if "run" in step:
            first = next(
                (ln.strip() for ln in _yaml_str(step["run"]).splitlines() if ln.strip()), ""
            )
            return f"Run {first}"
        return f"Run {step['uses']}"

    def _fresh_files(self, n: int) -> dict[str, Path]:
        d = self.runner_temp / "_runner_file_commands"
        d.mkdir(parents=True, exist_ok=True)
        files = {}
        for key in _FILE_COMMANDS:
            p = d / f"{key.lower()}_{n}_{uuid.uuid4().hex[:8]}"
            p.touch()
            files[key] = p
        return files

    def _apply_files(self, res: StepResult, files: Mapping[str, Path]) -> None:
        res.summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        outputs = _parse_file_command(files["GITHUB_OUTPUT"], "GITHUB_OUTPUT")
        if res.id:
            res.outputs.update(outputs)
        for k, v in _parse_file_command(files["GITHUB_ENV"], "GITHUB_ENV").items():
            if k.upper().startswith(("GITHUB_", "RUNNER_")):
                continue  # the runner's own variables cannot be overridden
            self.global_env[k] = v
        for line in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines():
            if line.strip():
                self.path_prepend.insert(0, line.strip())

    def _workdir(self, step: Mapping[str, Any], scope: _Scope) -> Path:
        wd = step.get("working-directory", self.defaults.get("working-directory"))
        if wd is None:
            return self.workdir
        return self.workdir / _render_str(wd, scope)

    def _run_script(
        self,
        res: StepResult,
        step: Mapping[str, Any],
        step_env: Mapping[str, str],
        action: str,
        files: Mapping[str, Path],
        scope: _Scope,
        timeout: float,
        by_step: bool,
    ) -> None:
        shell = step.get("shell", self.defaults.get("shell"))
        template = _SHELLS.get(shell) if shell in _SHELLS else str(shell)
        assert template is not None
        script = self.runner_temp / f"{uuid.uuid4()}{_SHELL_EXT.get(str(shell), '.sh')}"
        script.write_text(_yaml_str(step["run"]), encoding="utf-8")
        argv = shlex.split(template)
        if not any("{0}" in a for a in argv):
            argv.append("{0}")
        argv = [a.replace("{0}", str(script)) for a in argv]
        cwd = self._workdir(step, scope)
        if not cwd.is_dir():
            res.outcome = "failure"
            res.error = f"working-directory {cwd} does not exist"
            return
        try:
            p = subprocess.Popen(
                argv,
                cwd=cwd,
                env=self._process_env(step_env, action, files),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as e:
            res.outcome = "failure"
            res.error = f"cannot start {argv[0]!r}: {e}"
            return
        try:
            out, err = p.communicate(timeout=max(timeout, 0.001))
            timed_out = False
        except subprocess.TimeoutExpired:
            out, err = _kill_group(p)
            timed_out = True
        res.stdout = out.decode("utf-8", "replace")
        res.stderr = err.decode("utf-8", "replace")
        res.exit_code = p.returncode
        if timed_out and by_step:
            res.outcome = "failure"
            res.error = f"the step has timed out after {step.get('timeout-minutes')} minutes"
        elif timed_out:
            res.outcome = "cancelled"
            res.error = f"the job was cancelled: its time ({self.budget:g} s) ran out"
        elif p.returncode == 0:
            res.outcome = "success"
        else:
            res.outcome = "failure"
            res.error = f"Process completed with exit code {p.returncode}."

    def _run_uses(
        self,
        res: StepResult,
        step: Mapping[str, Any],
        step_env: Mapping[str, str],
        action: str,
        files: Mapping[str, Path],
        scope: _Scope,
        timeout: float = 300,
    ) -> None:
        ref = str(step["uses"])
        name = ref.split("@", 1)[0]
        fn = self.uses.get(ref) or self.uses.get(name)
        if fn is None:
            fn = next((f for k, f in self.uses.items() if k.lower() == name.lower()), None)
        action_dir = self._action_dir(ref, res.key) if fn is None else None
        if fn is None and action_dir is None:
            raise WorkflowError(
                f"step {res.key!r}: no local replacement for uses: {name} "
                f"(pass uses={{{name!r}: fn}}, or actions={{'owner/repo': clone}})"
            )
        with_ = {}
        for k, v in (step.get("with") or {}).items():
            try:
                with_[str(k)] = _yaml_str(_render(v, scope))
            except WorkflowError as e:
                raise WorkflowError(f"step {res.key!r}: with.{k}: {e}") from None
        res.with_ = with_
        if action_dir is not None:
            self._run_composite(res, action_dir, with_, step_env, files, timeout)
            return
        assert fn is not None
        env = self._process_env(step_env, action, files)
        env.update({f"INPUT_{k.replace(' ', '_').upper()}": v for k, v in with_.items()})
        ctx = StepContext(
            id=res.id,
            name=res.name,
            uses=ref,
            with_=with_,
            env=env,
            workdir=self.workdir,
            github=dict(self.github),
            runner_temp=self.runner_temp,
            files=dict(files),
        )
        try:
            fn(ctx)
            res.outcome = "success"
        except StepFailed as e:
            res.outcome = "failure"
            res.error = str(e)
        except Exception as e:
            res.outcome = "failure"
            res.error = f"{name} replacement raised {type(e).__name__}: {e}"
            ctx.stderr.append(traceback.format_exc())
        res.stdout = "".join(ctx.stdout)
        res.stderr = "".join(ctx.stderr)
        res.exit_code = 0 if res.outcome == "success" else 1

    # ---- composite actions -----------------------------------------------------------------

    def _action_dir(self, ref: str, where: str) -> Path | None:
        """The folder of a composite action: ``./path`` in the workspace, or
        ``owner/repo[/path]@sha`` from a local clone given in ``actions=`` (extracted at that
        commit, as the runner downloads it); None when neither applies."""
        if ref.startswith("./"):
            return (self.workdir / ref[2:]).resolve()
        name, _, sha = ref.partition("@")
        parts = name.split("/")
        clone = self.actions.get("/".join(parts[:2]).lower())
        if clone is None or len(parts) < 2:
            return None
        if not sha:
            raise WorkflowError(f"step {where!r}: uses: {ref} has no @ref")
        root = self.runner_temp / "_actions" / parts[0] / parts[1] / sha
        if not root.is_dir():
            archive = subprocess.run(
                ["git", "-C", str(clone), "archive", "--format=tar", sha],
                capture_output=True,
                check=False,
            )
            if archive.returncode != 0:
                raise WorkflowError(
                    f"step {where!r}: {sha} is not a commit of {clone}: "
                    f"{archive.stderr.decode(errors='replace').strip()}"
                )
            root.mkdir(parents=True)
            subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
        return root.joinpath(*parts[2:])

    def _run_composite(
        self,
        res: StepResult,
        action_dir: Path,
        with_: Mapping[str, str],
        outer_env: Mapping[str, str],
        files: Mapping[str, Path],
        timeout: float,
    ) -> None:
        """Run a composite action's steps the way the runner does: its own ``inputs`` and
        ``steps`` contexts, no ``secrets``, ``shell:`` required, ``GITHUB_ACTION_PATH`` set;
        outputs, summaries and logs go to the calling step."""
        meta_path = next(
            (p for p in (action_dir / "action.yml", action_dir / "action.yaml") if p.is_file()),
            None,
        )
        if meta_path is None:
            raise WorkflowError(f"step {res.key!r}: no action.yml in {action_dir}")
        meta = load_workflow(meta_path)
        runs = meta.get("runs") or {}
        if runs.get("using") != "composite":
            raise WorkflowError(f"{meta_path}: only composite actions are supported")
        declared = {str(k): dict(v or {}) for k, v in (meta.get("inputs") or {}).items()}
        unknown = sorted(set(k.lower() for k in with_) - {k.lower() for k in declared})
        if unknown:
            raise WorkflowError(f"step {res.key!r}: {meta_path} has no input(s) {unknown}")
        github = dict(self.github, action_path=str(action_dir))
        contexts = {k: v for k, v in self.contexts.items() if k != "secrets"}
        contexts["github"] = _Strict(github, "github", " (pass it to run_job(github={...}))")
        scope = _Scope({**contexts, "env": _CaseSensitive(outer_env)}, self.status)
        given = {k.lower(): v for k, v in with_.items()}
        inputs = {
            name: given[name.lower()]
            if name.lower() in given
            else _yaml_str(_render(spec.get("default", ""), scope))
            for name, spec in declared.items()
        }
        contexts["inputs"] = _Strict(inputs, "inputs", " (not declared by the action)")
        steps = list(runs.get("steps") or [])
        ids = {str(s["id"]) for s in steps if isinstance(s, dict) and s.get("id")}
        records: dict[str, Any] = {}
        status = "cancelled" if self.cancelled else self.status
        deadline = time.monotonic() + timeout
        for n, step in enumerate(steps):
            where = f"{meta_path.parent.name}/step {n + 1}"
            if not isinstance(step, dict) or ("run" in step) == ("uses" in step):
                raise WorkflowError(f"{where}: needs exactly one of run: / uses:")
            if "run" in step and "shell" not in step:
                raise WorkflowError(f"{where}: a composite action's run: step needs shell:")
            if "run" in step and "${{" in _yaml_str(step["run"]):
                raise WorkflowError(f"{where}: expression inside run: - pass it through env:")
            sid = str(step["id"]) if step.get("id") else None
            inner = StepResult(n, sid, self._default_name(step), "run" if "run" in step else "uses")
            res.steps.append(inner)
            contexts["steps"] = _Strict(
                {i: records.get(i) for i in ids}, "steps", " (no step of the action has that id)"
            )
            env = dict(outer_env)
            env.update({k: v for k, v in self.global_env.items() if k not in outer_env})
            step_scope = _Scope({**contexts, "env": _CaseSensitive(env)}, status)
            for k, v in (step.get("env") or {}).items():
                env[str(k)] = _yaml_str(_render(v, step_scope))
            env["GITHUB_ACTION_PATH"] = str(action_dir)
            step_scope = _Scope({**contexts, "env": _CaseSensitive(env)}, status)
            inner.env = env
            if "name" in step:
                inner.name = _render_str(step["name"], step_scope)
            if _condition(step.get("if"), step_scope, where=where):
                inner_files = self._fresh_files(n)
                left = deadline - time.monotonic()
                if self.cancelled:
                    left = max(left, self.timeout)
                if "run" in step:
                    self._run_script(
                        inner, step, env, sid or "__run", inner_files, step_scope, left, False
                    )
                else:
                    self._run_uses(inner, step, env, sid or "__run", inner_files, step_scope, left)
                self._apply_files(inner, inner_files)
                with files["GITHUB_STEP_SUMMARY"].open("a", encoding="utf-8") as fh:
                    fh.write(inner.summary)
                inner.conclusion = inner.outcome
                if inner.outcome == "failure" and _truthy(
                    _render(step.get("continue-on-error", False), step_scope)
                ):
                    inner.conclusion = "success"
                if inner.outcome == "cancelled" and not self.cancelled:
                    self._cancel()
                if inner.conclusion == "failure" and status != "cancelled":
                    status = "failure"
                res.stdout += f"[{inner.key}] {inner.outcome}\n{inner.stdout}"
                res.stderr += inner.stderr
                if inner.error:
                    res.stderr += f"[{inner.key}] {inner.error}\n"
            if sid:
                records[sid] = {
                    "outputs": dict(inner.outputs),
                    "outcome": inner.outcome,
                    "conclusion": inner.conclusion,
                }
            if self.cancel_after is not None and self.cancel_after in (sid, inner.name):
                self._cancel()
            if self.cancelled:
                status = "cancelled"
        contexts["steps"] = _Strict({i: records.get(i) for i in ids}, "steps")
        final = _Scope({**contexts, "env": _CaseSensitive(dict(outer_env))}, status)
        with files["GITHUB_OUTPUT"].open("a", encoding="utf-8") as fh:
            for name, spec in (meta.get("outputs") or {}).items():
                fh.write(_heredoc(str(name), _render_str((spec or {}).get("value", ""), final)))
        res.outcome = (
            "failure" if status == "failure" else "cancelled" if self.cancelled else "success"
        )
        res.exit_code = 0 if res.outcome == "success" else 1


def run_job(
    workflow: Path | str | Mapping[str, Any],
    job: str,
    *,
    workdir: Path,
    inputs: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    github: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    vars: Mapping[str, str] | None = None,
    uses: Mapping[str, Callable[[StepContext], None]] | None = None,
    actions: Mapping[str, Path] | None = None,
    cancel_after: str | None = None,
    timeout: float = 300,
    runner_temp: Path | None = None,
) -> JobResult:
    """Run the steps of ``job`` (see the module docstring for what is supported).

    ``inputs``: the ``workflow_dispatch`` inputs (validated against the declaration: unknown
    or missing required ones raise :class:`WorkflowError`; defaults applied; ``type: number``
    ones become numbers in ``inputs.X`` and strings in ``github.event.inputs.X``).
    ``secrets`` / ``vars``: the ``secrets`` / ``vars`` contexts (``secrets.GITHUB_TOKEN``
    defaults to ``github["token"]``). ``github``: the ``github`` context (``run_id``,
    ``repository``, ``server_url``, ``api_url``, ``token``, ``ref``, ``actor``...; also
    exported as ``GITHUB_*``). ``env``: the runner machine's environment on top of a small
    allow-list of this process's variables. ``workdir``: ``GITHUB_WORKSPACE`` (created if
    missing). ``uses``: ``{"owner/action": fn(StepContext)}``. ``cancel_after``: a step id or
    name after which the job is cancelled. ``timeout``: seconds for the job (then it is
    cancelled). ``runner_temp``: ``RUNNER_TEMP`` (default: a fresh directory, removed after).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    own_temp = runner_temp is None
    temp = Path(tempfile.mkdtemp(prefix="runner-temp-")) if runner_temp is None else runner_temp
    temp.mkdir(parents=True, exist_ok=True)
    try:
        return _Job(
            workflow,
            job,
            inputs=inputs or {},
            secrets=secrets or {},
            github=github or {},
            vars=vars or {},
            env=env or {},
            workdir=workdir,
            uses=uses or {},
            actions=actions or {},
            cancel_after=cancel_after,
            timeout=timeout,
            runner_temp=temp,
        ).run()
    finally:
        if own_temp:
            shutil.rmtree(temp, ignore_errors=True)


def iter_steps(workflow: Path | str | Mapping[str, Any], job: str) -> Iterator[dict[str, Any]]:
    """The raw step mappings of a job (for contract tests)."""
    doc = load_workflow(workflow)
    yield from ((doc.get("jobs") or {}).get(job) or {}).get("steps") or []


def uses_of(workflow: Path | str | Mapping[str, Any]) -> list[str]:
    """Every ``uses:`` reference of every job (for pinning checks)."""
    doc = load_workflow(workflow)
    return [
        str(s["uses"])
        for spec in (doc.get("jobs") or {}).values()
        for s in (spec or {}).get("steps") or []
        if isinstance(s, dict) and "uses" in s
    ]
