"""Learning at land time: the plan a merged pull request implements."""

from __future__ import annotations

import pytest

from learn.ci.land import candidates, find_plan
from learn.gateways.github import Issue
from tests.fakes.github_gateway import FakeGitHubGateway
from tests.support.github_world import plan_body

REPO = "acme/widgets"


def pull(body: str = "", branch: str = "feature", merged: bool = True, number: int = 40) -> dict:
    return {"number": number, "body": body, "merged": merged, "head": {"ref": branch}}


@pytest.mark.parametrize(
    "body, branch, expected",
    [
        ("Closes #7", "x", [7]),
        ("This fixes: #7 and resolves acme/widgets#8.", "x", [7, 8]),
        ("Fixes other/repo#9, closed #10", "x", [10]),
        ("Refs #7 (not a closing keyword)", "x", []),
        ("", "P12-add-slugify-01-20-1030", [12]),
        ("", "plan-12", [12]),
        ("", "issue_12", [12]),
        ("", "12-add-slugify", [12]),
        ("Closes #7", "P7-same", [7]),
        ("Closes #40", "x", []),  # the pull request itself
    ],
)
def test_candidates(body: str, branch: str, expected: list[int]) -> None:
    assert [c.number for c in candidates(pull(body, branch), REPO)] == expected


def test_a_plan_header_in_the_pr_body_names_the_plan() -> None:
    body = plan_body(plan_issue="#21")
    assert [c.number for c in candidates(pull(body), REPO)] == [21]


def gateway(**issues: str) -> FakeGitHubGateway:
    gh = FakeGitHubGateway()
    for number, body in issues.items():
        n = int(number.removeprefix("n"))
        gh.issues[n] = Issue(n, f"issue {n}", body, f"https://github.com/{REPO}/issues/{n}")
    return gh


def test_the_candidates_that_are_plans_are_learned() -> None:
    gh = gateway(n5="just an issue", n7=plan_body())
    found = find_plan({"pull_request": pull("Closes #3, closes #5, closes #7")}, REPO, gh)
    assert found.issues == (7,) and found.why == "plan #7 from the closing keyword 'closes #7'"


def test_every_plan_the_body_names_is_learned_together() -> None:
    gh = gateway(n7=plan_body(), n8=plan_body(), n12=plan_body())
    body = "Closes #7 and fixes #8\n\n" + plan_body(plan_issue="#7")
    found = find_plan({"pull_request": pull(body, branch="12-slugify")}, REPO, gh)
    assert found.issues == (7, 8)  # the branch name is a guess: not when the body names plans
    assert found.why.startswith("plans #7 from the closing keyword 'Closes #7'; #8 from")


def test_the_branch_name_counts_when_the_body_names_no_plan() -> None:
    gh = gateway(n5="just an issue", n12=plan_body())
    found = find_plan({"pull_request": pull("Closes #5", branch="12-slugify")}, REPO, gh)
    assert found.issues == (12,) and "branch name" in found.why


@pytest.mark.parametrize(
    "event, why",
    [
        ({"pull_request": pull("Closes #7", merged=False)}, "closed without merging"),
        ({"pull_request": pull("no keyword")}, "names no plan"),
        ({"inputs": {}}, "not about a pull request"),
    ],
)
def test_nothing_to_learn_is_quiet(event: dict, why: str) -> None:
    found = find_plan(event, REPO, gateway(n7=plan_body()))
    assert found.issues == () and why in found.why


def test_candidates_that_are_not_plans_are_named() -> None:
    found = find_plan({"pull_request": pull("Closes #5, fixes #6")}, REPO, gateway(n5="no header"))
    assert found.issues == ()
    assert found.why == "no plan among #5 is not a plan, #6 is not an issue"
