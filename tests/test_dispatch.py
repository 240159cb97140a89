"""invoke dispatch: start the workflow with a distinct_id, find its run by the run name, follow
it, and report what it produced — against FakeGitHub, through PyGithub, as a process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from learn import plan_header as plan
from tests.fakes.github_api import FakeDispatch, FakeGitHub, FakeRepo
from tests.support.github_world import TOKEN, plan_body
from tests.support.processes import Done
from tests.support.repos import ROOT, Repo

WORKFLOW = ROOT / ".github" / "workflows" / "learn-async.yml"


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, FakeRepo]]:
    with FakeGitHub(tokens={TOKEN}) as gh:
        yield gh, gh.add_repo("acme/widgets", default_branch="trunk")


def dispatch(invoke: Callable[..., Done], gh: FakeGitHub, repo: Repo, *args: str) -> Done:
    env = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "acme/widgets",
        "GITHUB_API_URL": gh.base_url,
        "LEARN_DISPATCH_POLL": "0",
    }
    return invoke("dispatch", "--repo", str(repo.path), *args, env=env)


def test_dispatch_and_wait_reports_the_draft_pr(
    github: tuple[FakeGitHub, FakeRepo], repo: Repo, invoke: Callable[..., Done]
) -> None:
    gh, fake = github
    issue = fake.add_issue(title="Plan", body=plan_body())
    wf = fake.add_workflow(
        "learn-async.yml",
        source=WORKFLOW,
        run_appears_after=2,
        run_states=[("in_progress", None), ("in_progress", None), ("completed", "success")],
    )

    @wf.on_dispatch
    def learn(d: FakeDispatch) -> None:  # what the workflow would do to the plan
        issue.body = plan.update_header(
            issue.body or "",
            {"learn_status": "pending_review", "learn_pr": 42, "learn_branch": "learn-1-9"},
        )

    done = dispatch(invoke, gh, repo, "--issue", str(issue.number), "--wait")
    assert done.code == 0, done.text
    (sent,) = wf.dispatches
    assert sent.ref == "trunk" and sent.inputs["issue_number"] == str(issue.number)
    distinct_id = sent.inputs["distinct_id"]
    assert f"(id {distinct_id})" in done.out
    assert f"learn-async #{issue.number} [{distinct_id}]" == wf.runs()[0].display_title
    assert "draft PR #42 opened from learn-1-9" in done.out


def test_several_plans_go_as_the_issues_input_and_each_is_reported(
    github: tuple[FakeGitHub, FakeRepo], repo: Repo, invoke: Callable[..., Done]
) -> None:
    gh, fake = github
    plans = [fake.add_issue(title=f"Plan {n}", body=plan_body()) for n in (1, 2)]
    wf = fake.add_workflow(
        "learn-async.yml", source=WORKFLOW, run_states=[("completed", "success")]
    )

    @wf.on_dispatch
    def learn(d: FakeDispatch) -> None:  # one consolidated PR; the second plan had nothing
        plans[0].body = plan.update_header(
            plans[0].body or "",
            {"learn_status": "pending_review", "learn_pr": 42, "learn_branch": "learn-plans-9"},
        )
        plans[1].body = plan.update_header(
            plans[1].body or "", {"learn_status": "completed_no_changes"}
        )

    first, second = (str(p.number) for p in plans)
    done = dispatch(invoke, gh, repo, "--issue", first, "--issue", second, "--wait")
    assert done.code == 0, done.text
    (sent,) = wf.dispatches
    assert sent.inputs["issues"] == f"{first} {second}" and "issue_number" not in sent.inputs
    assert f"for #{first}, #{second} on trunk" in done.out
    assert f"#{first}: draft PR #42 opened from learn-plans-9" in done.out
    assert f"#{second}: nothing to learn" in done.out


def test_dispatch_without_wait_prints_the_run(
    github: tuple[FakeGitHub, FakeRepo], repo: Repo, invoke: Callable[..., Done]
) -> None:
    gh, fake = github
    issue = fake.add_issue(title="Plan", body=plan_body())
    wf = fake.add_workflow("learn-async.yml", source=WORKFLOW)
    done = dispatch(invoke, gh, repo, "--issue", str(issue.number), "--engine", "offline")
    assert done.code == 0, done.text
    assert wf.dispatches[0].inputs["engine"] == "offline"
    assert f"run: https://github.com/acme/widgets/actions/runs/{wf.runs()[0].id}" in done.out


def test_failed_run_is_reported_with_the_plan_error(
    github: tuple[FakeGitHub, FakeRepo], repo: Repo, invoke: Callable[..., Done]
) -> None:
    gh, fake = github
    issue = fake.add_issue(title="Plan", body=plan_body())
    wf = fake.add_workflow(
        "learn-async.yml", source=WORKFLOW, run_states=[("completed", "failure")]
    )
    wf.on_dispatch(
        lambda d: setattr(
            issue,
            "body",
            plan.update_header(
                issue.body or "",
                {"learn_status": "failed", "learn_error": "artifact session-x has expired"},
            ),
        )
    )
    done = dispatch(invoke, gh, repo, "--issue", str(issue.number), "--wait")
    assert done.code == 1
    assert "ended failure" in done.text and "artifact session-x has expired" in done.text


def test_undeclared_input_is_refused_by_github(
    github: tuple[FakeGitHub, FakeRepo], repo: Repo, invoke: Callable[..., Done], tmp_path: Path
) -> None:
    gh, fake = github
    issue = fake.add_issue(title="Plan", body=plan_body())
    old = tmp_path / "old.yml"  # a repository still on a workflow without the engine input
    old.write_text(WORKFLOW.read_text().replace("      engine:\n", "      removed_engine:\n"))
    fake.add_workflow("learn-async.yml", source=old)
    done = dispatch(invoke, gh, repo, "--issue", str(issue.number), "--engine", "offline")
    assert done.code == 1 and "422" in done.text and "Traceback" not in done.text
