"""``invoke dispatch``: start the learn-async workflow for plans and (optionally) follow it.

One plan goes as the workflow's ``issue_number`` input; several as ``issues``, learned together
into one PR.

The workflow is dispatched with a fresh ``distinct_id``, which its ``run-name`` shows; the run is
found by that id (the dispatch API returns nothing to identify it), then polled to completion.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from learn import plan_header as plan
from learn.console import Output
from learn.errors import GitHubError
from learn.gateways.github import GitHub, WorkflowRun

__all__ = ["WORKFLOW_FILE", "Request", "dispatch"]

WORKFLOW_FILE = "learn-async.yml"


@dataclass(frozen=True)
class Request:
    issues: tuple[int, ...]  # one plan, or several learned together
    ref: str
    model: str | None = None
    engine: str | None = None
    wait: bool = False
    poll_seconds: float = 5.0
    timeout_seconds: float = 1800.0

    def inputs(self, distinct_id: str) -> dict[str, str]:
        several = len(self.issues) > 1
        values = {
            "issues" if several else "issue_number": " ".join(map(str, self.issues)),
            "distinct_id": distinct_id,
        }
        if self.model:
            values["model_name"] = self.model
        if self.engine:
            values["engine"] = self.engine
        return values


def dispatch(
    gh: GitHub,
    request: Request,
    out: Output,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> WorkflowRun:
    distinct_id = uuid.uuid4().hex[:12]
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)  # allow for clock skew
    gh.dispatch_workflow(WORKFLOW_FILE, request.ref, request.inputs(distinct_id))
    plans = ", ".join(f"#{n}" for n in request.issues)
    out.ok(f"dispatched {WORKFLOW_FILE} for {plans} on {request.ref} (id {distinct_id})")
    deadline = clock() + request.timeout_seconds
    run = None
    while run is None:
        run = gh.find_dispatched_run(WORKFLOW_FILE, distinct_id, since)
        if run is None:
            if clock() > deadline:
                raise GitHubError(f"the dispatched run [{distinct_id}] did not appear in time")
            sleep(request.poll_seconds)
    out.info(f"run: {run.url}")
    if not request.wait:
        return run
    last = ""
    while run.status != "completed":
        if run.status != last:
            out.info(f"  {run.status}")
            last = run.status
        if clock() > deadline:
            raise GitHubError(f"run {run.id} did not finish in time ({run.status})", fix=run.url)
        sleep(request.poll_seconds)
        run = gh.workflow_run(run.id)
    _report(gh, request.issues, run, out)
    return run


def _report(gh: GitHub, issues: tuple[int, ...], run: WorkflowRun, out: Output) -> None:
    """What the run left on each plan (one line per plan; "#N: " before it when several)."""
    headers = {n: plan.read_header(gh.issue(n).body) or {} for n in issues}
    which = (lambda n: f"#{n}: ") if len(issues) > 1 else (lambda n: "")
    if run.conclusion != "success":
        states = "; ".join(
            f"{which(n)}learn_status: {h.get('learn_status', '?')}; "
            f"{h.get('learn_error', 'see the run log')}"
            for n, h in headers.items()
        )
        raise GitHubError(
            f"run {run.id} ended {run.conclusion or 'without a conclusion'} ({states})",
            fix=run.url,
        )
    for n, header in headers.items():
        status = header.get("learn_status", "?")
        if status == plan.PENDING_REVIEW and header.get("learn_pr"):
            branch = header.get("learn_branch", "?")
            out.ok(f"{which(n)}draft PR #{header['learn_pr']} opened from {branch}")
        elif status == plan.COMPLETED_NO_CHANGES:
            out.ok(f"{which(n)}nothing to learn: the workflow commented on the issue")
        else:
            out.ok(f"{which(n)}finished; learn_status: {status}")
