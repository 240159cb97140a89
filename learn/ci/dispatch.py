"""``invoke dispatch``: start the learn-async workflow for a plan and (optionally) follow it.

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
    issue: int
    ref: str
    model: str | None = None
    engine: str | None = None
    wait: bool = False
    poll_seconds: float = 5.0
    timeout_seconds: float = 1800.0

    def inputs(self, distinct_id: str) -> dict[str, str]:
        values = {"issue_number": str(self.issue), "distinct_id": distinct_id}
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
    out.ok(f"dispatched {WORKFLOW_FILE} for #{request.issue} on {request.ref} (id {distinct_id})")
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
    _report(gh, request.issue, run, out)
    return run


def _report(gh: GitHub, issue: int, run: WorkflowRun, out: Output) -> None:
    header = plan.read_header(gh.issue(issue).body) or {}
    status = header.get("learn_status", "?")
    if run.conclusion != "success":
        raise GitHubError(
            f"run {run.id} ended {run.conclusion or 'without a conclusion'} "
            f"(learn_status: {status}; {header.get('learn_error', 'see the run log')})",
            fix=run.url,
        )
    if status == plan.PENDING_REVIEW and header.get("learn_pr"):
        out.ok(f"draft PR #{header['learn_pr']} opened from {header.get('learn_branch', '?')}")
    elif status == plan.COMPLETED_NO_CHANGES:
        out.ok("nothing to learn: the workflow commented on the issue")
    else:
        out.ok(f"finished; learn_status: {status}")
