"""The loopback GitHub REST fake, driven through PyGithub's real HTTP code path."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededException,
    UnknownObjectException,
)

from tests.fakes.github_api import (
    PR_CREATION_FORBIDDEN_MESSAGE,
    FakeDispatch,
    FakeGitHub,
    FakeRepo,
    make_zip,
)

TOKEN = "t0ken"
RUN_ID = 21202876864
SESSION_ZIP = make_zip(
    {"5f0c.jsonl": b'{"type":"user"}\n', "5f0c/subagents/agent-1.jsonl": b"{}\n"}
)


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(tokens={TOKEN: "octo-bot"}, page_size=2) as fake:
        yield fake


@pytest.fixture
def repo(gh: FakeGitHub) -> FakeRepo:
    return gh.add_repo("acme/widgets", default_branch="trunk")


@pytest.fixture
def client(gh: FakeGitHub) -> Iterator[Github]:
    g = Github(
        base_url=gh.base_url,
        auth=Auth.Token(TOKEN),
        retry=None,  # no urllib3/GithubRetry retries
        seconds_between_requests=None,  # no client-side throttling
        seconds_between_writes=None,
        timeout=5,
    )
    yield g
    g.close()


# ------------------------------------------------------------------------------------------
# Repository, issue, comments
# ------------------------------------------------------------------------------------------


def test_repo_and_issue_round_trip(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    issue = repo.add_issue(title="Plan: X", body="before", labels=["erk-plan"])
    r = client.get_repo("acme/widgets")
    assert (r.full_name, r.default_branch, r.private) == ("acme/widgets", "trunk", False)
    assert r.url.startswith(gh.base_url)  # API URLs are on the fake: PyGithub follows them
    i = r.get_issue(issue.number)
    assert (i.title, i.body, i.state, i.pull_request) == ("Plan: X", "before", "open", None)
    assert [lb.name for lb in i.labels] == ["erk-plan"]
    n_before = len(gh.requests)
    assert i.user.login == "octocat" and i.html_url.endswith("/issues/1")  # no lazy completion
    assert len(gh.requests) == n_before

    i.edit(body="after", labels=["erk-plan", "learned"])
    assert issue.body == "after" and issue.labels == ["erk-plan", "learned"]
    assert i.body == "after"
    assert gh.writes()[0].json == {"body": "after", "labels": ["erk-plan", "learned"]}
    i.edit(state="closed")
    assert issue.state == "closed" and issue.closed_at is not None

    with pytest.raises(UnknownObjectException):
        r.get_issue(99)
    with pytest.raises(UnknownObjectException):
        client.get_repo("acme/nope")


def test_comments_paginate_across_pages(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    issue = repo.add_issue(comments=[f"c{n}" for n in range(5)])  # page_size=2: 3 pages
    i = client.get_repo("acme/widgets").get_issue(issue.number)
    assert [c.body for c in i.get_comments()] == ["c0", "c1", "c2", "c3", "c4"]
    pages = gh.find("GET", r"/repos/acme/widgets/issues/1/comments$")
    assert [p.query.get("page") for p in pages] == [None, "2", "3"]
    # like GitHub, Link URLs are absolute, on the fake's host, in /repositories/<id>/ form
    assert pages[1].path == f"/repositories/{repo.id}/issues/1/comments"

    raw = requests.get(
        f"{gh.base_url}/repos/acme/widgets/issues/1/comments?page=2",
        headers={"Authorization": f"token {TOKEN}"},
        timeout=5,
    )
    rels = dict(
        (part.split("; ")[1][5:-1], part.split("; ")[0][1:-1])
        for part in raw.headers["link"].split(", ")
    )
    assert list(rels) == ["prev", "next", "last", "first"]
    assert rels["last"] == f"{gh.base_url}/repositories/{repo.id}/issues/1/comments?page=3"
    assert raw.headers["x-ratelimit-limit"] == "5000"


def test_create_and_edit_comment(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    issue = repo.add_issue()
    i = client.get_repo("acme/widgets").get_issue(issue.number)
    c = i.create_comment("Nothing to learn.")
    assert c.user.login == "octo-bot" and c.body == "Nothing to learn."
    c.edit("Nothing to learn (edited).")
    assert issue.comment_bodies() == ["Nothing to learn (edited)."]
    assert gh.count("POST") == 1 and gh.count("PATCH", r"/issues/comments/\d+$") == 1


# ------------------------------------------------------------------------------------------
# Pull requests
# ------------------------------------------------------------------------------------------


def test_draft_pr_then_already_exists(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    repo.add_issue()  # issue #1: PRs share the numbering
    r = client.get_repo("acme/widgets")
    pr = r.create_pull(base="trunk", head="learn-1-42", title="Learn #1", body="docs", draft=True)
    assert (pr.number, pr.draft, pr.state, pr.head.ref, pr.head.label) == (
        2,
        True,
        "open",
        "learn-1-42",
        "acme:learn-1-42",
    )
    assert pr.html_url == "https://github.com/acme/widgets/pull/2"
    assert repo.pulls[2].draft and repo.open_pulls("acme:learn-1-42") == [repo.pulls[2]]

    with pytest.raises(GithubException) as ei:
        r.create_pull(base="trunk", head="acme:learn-1-42", title="again", draft=True)
    assert ei.value.status == 422
    assert ei.value.message == "Validation Failed"
    assert (
        ei.value.data["errors"][0]["message"]
        == "A pull request already exists for acme:learn-1-42."
    )
    assert len(repo.pulls) == 1

    pr.edit(body="docs v2")
    assert repo.pulls[2].body == "docs v2"
    assert r.get_pull(2).body == "docs v2"
    assert r.get_issue(2).pull_request is not None  # a PR is an issue too
    pr.create_issue_comment("via the PR's issue")
    assert repo.pulls[2].comment_bodies() == ["via the PR's issue"]


def test_get_pulls_filters(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    repo.add_pull("learn-1-1", base="trunk")
    repo.add_pull("other", base="trunk")
    repo.add_pull("fork-owner:learn-1-1", base="trunk")
    repo.add_pull("learn-1-1", base="release", state="closed")
    r = client.get_repo("acme/widgets")
    mine = list(r.get_pulls(state="open", head="acme:learn-1-1", base="trunk"))
    assert [p.number for p in mine] == [1]
    assert [p.number for p in r.get_pulls(state="all", head="acme:learn-1-1")] == [4, 1]
    # GitHub's quirk: a head without "owner:" filters nothing
    assert {p.number for p in r.get_pulls(head="learn-1-1")} == {1, 2, 3}
    assert gh.find("GET", r"/pulls$")[0].query == {
        "state": "open",
        "head": "acme:learn-1-1",
        "base": "trunk",
    }


def test_pr_creation_forbidden(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    gh.forbid_pull_request_creation()
    with pytest.raises(GithubException) as ei:
        client.get_repo("acme/widgets").create_pull(base="trunk", head="b", title="t")
    assert ei.value.status == 403 and ei.value.message == PR_CREATION_FORBIDDEN_MESSAGE
    assert repo.pulls == {}


# ------------------------------------------------------------------------------------------
# Workflow runs and artifacts
# ------------------------------------------------------------------------------------------


def test_run_artifacts_and_download(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    run = repo.add_run(RUN_ID)
    art = run.add_artifact("session-5f0c", SESSION_ZIP)
    for n in range(3):  # force a second page of artifacts
        run.add_artifact(f"other-{n}", b"x")
    r = client.get_repo("acme/widgets")
    wr = r.get_workflow_run(RUN_ID)
    assert (wr.id, wr.status, wr.conclusion) == (RUN_ID, "completed", "success")
    arts = list(wr.get_artifacts())
    assert [a.name for a in arts] == ["session-5f0c", "other-0", "other-1", "other-2"]
    a = arts[0]
    assert (a.id, a.size_in_bytes, a.expired) == (art.id, len(SESSION_ZIP), False)
    assert r.get_artifact(art.id).name == "session-5f0c"
    assert [x.id for x in r.get_artifacts(name="session-5f0c")] == [art.id]

    # PyGithub 2.x: Requester.getStream follows the 302 itself (fine here: same host)
    status, _, chunks = client.requester.getStream(a.archive_download_url, chunk_size=65536)
    assert status == 200 and b"".join(chunks) == SESSION_ZIP
    zip_req, blob_req = gh.requests[-2:]
    assert zip_req.status == 302 and blob_req.path.startswith("/_blobs/")

    with pytest.raises(UnknownObjectException):
        _ = r.get_workflow_run(1).id


def test_download_like_a_gateway_on_a_foreign_blob_host(repo: FakeRepo) -> None:
    """GitHub redirects to a storage host outside PyGithub's allowed domains, which rejects an
    Authorization header: use PyGithub for the API hop only, then fetch the signed URL bare."""
    gh = repo._fake
    gh.blob_host, gh.blob_rejects_auth = "localhost", True
    run = repo.add_run(RUN_ID)
    art = run.add_artifact("session-5f0c", SESSION_ZIP)
    old = run.add_artifact("session-old", SESSION_ZIP, expired=True)
    g = gh.github(TOKEN)
    try:
        url = g.get_repo("acme/widgets").get_artifact(art.id).archive_download_url
        with pytest.raises(AssertionError):  # PyGithub refuses to follow to a foreign host
            g.requester.getStream(url)

        headers, _ = g.requester.requestJsonAndCheck("GET", url)  # 302: not followed
        location = headers["location"]
        assert location.startswith(f"http://localhost:{gh.port}/_blobs/")
        leaky = requests.get(location, headers={"Authorization": f"token {TOKEN}"}, timeout=5)
        assert leaky.status_code == 400  # the storage host refuses a forwarded token
        blob = requests.get(location, timeout=5)
        assert blob.status_code == 200 and blob.headers["content-type"] == "application/zip"
        assert zipfile.ZipFile(io.BytesIO(blob.content)).namelist() == [
            "5f0c.jsonl",
            "5f0c/subagents/agent-1.jsonl",
        ]
        assert requests.get(location, timeout=5).status_code == 403  # single use

        with pytest.raises(GithubException) as ei:
            g.requester.requestJsonAndCheck(
                "GET", f"{gh.base_url}/repos/acme/widgets/actions/artifacts/{old.id}/zip"
            )
        assert (ei.value.status, ei.value.message) == (410, "Artifact has expired")
    finally:
        g.close()


def test_blob_link_expires() -> None:
    with FakeGitHub(tokens={TOKEN}, blob_ttl=0.0, blob_max_uses=None) as gh:
        art = gh.add_repo("a/b").add_run(1).add_artifact("s", SESSION_ZIP)
        r = requests.get(
            f"{gh.base_url}/repos/a/b/actions/artifacts/{art.id}/zip",
            headers={"Authorization": f"token {TOKEN}"},
            allow_redirects=False,
            timeout=5,
        )
        assert r.status_code == 302
        time.sleep(0.01)
        assert requests.get(r.headers["location"], timeout=5).status_code == 403


# ------------------------------------------------------------------------------------------
# Auth, rate limits, faults
# ------------------------------------------------------------------------------------------


def test_bad_and_missing_token(gh: FakeGitHub, repo: FakeRepo) -> None:
    bad = gh.github("wrong")
    with pytest.raises(BadCredentialsException) as ei:
        bad.get_repo("acme/widgets")
    assert ei.value.status == 401 and ei.value.data["message"] == "Bad credentials"
    bad.close()
    anon = Github(base_url=gh.base_url, retry=None)
    with pytest.raises(GithubException) as ei2:
        anon.get_repo("acme/widgets")
    assert ei2.value.status == 401
    anon.close()


def test_user_and_rate_limit(gh: FakeGitHub, client: Github) -> None:
    assert client.get_user().login == "octo-bot"
    core = client.get_rate_limit().resources.core
    assert core.limit == 5000 and core.remaining <= 5000
    gh.set_rate_limit_headers(remaining=7, reset=2_000_000_000)
    client.get_rate_limit()
    assert client.rate_limiting == (6, 5000) and client.rate_limiting_resettime == 2_000_000_000

    gh.add_token("ghs_actions", "github-actions[bot]", integration=True)
    actions = gh.github("ghs_actions")
    with pytest.raises(GithubException) as ei:
        _ = actions.get_user().login
    assert (ei.value.status, ei.value.message) == (403, "Resource not accessible by integration")
    assert actions.get_rate_limit().resources.core.limit == 5000  # works for every token
    actions.close()


def test_after_true_write_lands_but_reply_is_lost(
    gh: FakeGitHub, repo: FakeRepo, client: Github
) -> None:
    issue = repo.add_issue()
    fault = gh.fail("POST", r"/issues/\d+/comments$", status=502, after=True)
    i = client.get_repo("acme/widgets").get_issue(issue.number)
    with pytest.raises(GithubException) as ei:
        i.create_comment("learned: nothing")
    assert ei.value.status == 502
    assert issue.comment_bodies() == ["learned: nothing"]  # the write happened
    (post,) = gh.find("POST")
    assert (post.status, post.effect_status, post.fault) == (502, 201, fault)
    assert not fault.active
    i.create_comment("second")  # times=1: the next one goes through
    assert issue.comment_bodies() == ["learned: nothing", "second"]


def test_blind_retry_of_a_post_duplicates_it(gh: FakeGitHub, repo: FakeRepo) -> None:
    """PyGithub's GithubRetry retries POST on 5xx: with a lost reply that duplicates the write."""
    issue = repo.add_issue()
    gh.fail("POST", r"/comments$", status=502, after=True)
    g = gh.github(TOKEN, retry=GithubRetry(total=2, backoff_factor=0))
    try:
        g.get_repo("acme/widgets").get_issue(1).create_comment("hello")
    finally:
        g.close()
    assert issue.comment_bodies() == ["hello", "hello"]
    assert [r.status for r in gh.find("POST")] == [502, 201]


def test_rate_limits(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    reset = int(time.time()) + 30
    gh.fail_primary_rate_limit("GET", r"^/repos/acme/widgets$", reset=reset)
    with pytest.raises(RateLimitExceededException) as ei:
        client.get_repo("acme/widgets")
    assert ei.value.headers["x-ratelimit-remaining"] == "0"
    assert ei.value.headers["x-ratelimit-reset"] == str(reset)

    gh.fail_secondary_rate_limit("POST", r"/pulls$", retry_after=1)
    with pytest.raises(RateLimitExceededException) as ei2:
        client.get_repo("acme/widgets").create_pull(base="trunk", head="b", title="t")
    assert ei2.value.headers["retry-after"] == "1"
    assert repo.pulls == {}

    gh.fail(
        "GET",
        r"^/repos/acme/widgets$",
        status=429,
        times=1,
        body="API rate limit exceeded for user ID 1.",
        headers={"x-ratelimit-remaining": "0"},
    )
    with pytest.raises(GithubException) as ei3:  # PyGithub maps only 403 to RateLimitExceeded
        client.get_repo("acme/widgets")
    assert ei3.value.status == 429
    assert client.get_repo("acme/widgets").name == "widgets"


def test_dropped_connection_and_timeout(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    repo.add_issue()
    gh.fail("GET", r"/issues/1$", drop=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.get_repo("acme/widgets").get_issue(1)
    assert gh.find("GET", r"/issues/1$")[0].dropped

    gh.fail("PATCH", r"/issues/1$", status=None, delay=1.3, after=True)
    slow = gh.github(TOKEN, timeout=1)
    try:
        i = slow.get_repo("acme/widgets").get_issue(1)
        t0 = time.monotonic()
        with pytest.raises(requests.exceptions.Timeout):
            i.edit(body="written, but the client gave up")
        assert time.monotonic() - t0 < 1.25
    finally:
        slow.close()
    assert repo.issues[1].body == "written, but the client gave up"


def test_server_errors_and_unknown_routes(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    gh.fail(None, r"^/repos/acme/widgets$", status=503, times=2)
    for _ in range(2):
        with pytest.raises(GithubException) as ei:
            client.get_repo("acme/widgets")
        assert ei.value.status == 503
    gh.fail("GET", r"^/repos/acme/widgets$", status=502, body=b"<html>unicorn</html>")
    with pytest.raises(GithubException) as ei2:
        client.get_repo("acme/widgets")
    assert ei2.value.status == 502
    assert client.get_repo("acme/widgets").default_branch == "trunk"
    with pytest.raises(UnknownObjectException):
        client.requester.requestJsonAndCheck("GET", "/repos/acme/widgets/nothing-here")
    assert gh.count(status=404) == 1 and len(gh.writes()) == 0


# ------------------------------------------------------------------------------------------
# Zip helper
# ------------------------------------------------------------------------------------------


def test_make_zip_hostile_entries() -> None:
    data = make_zip(
        [("ok.jsonl", b"{}\n"), ("../../evil.jsonl", b"x"), ("/abs.jsonl", b"y")],
        symlinks={"link.jsonl": "/etc/passwd"},
        declared_sizes={"ok.jsonl": 3_000_000_000},
    )
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        assert list(infos) == ["ok.jsonl", "../../evil.jsonl", "/abs.jsonl", "link.jsonl"]
        assert infos["ok.jsonl"].file_size == 3_000_000_000
        assert (infos["link.jsonl"].external_attr >> 16) & 0o170000 == 0o120000
        assert zf.read("../../evil.jsonl") == b"x"


# ------------------------------------------------------------------------------------------
# Workflows: dispatch, run discovery, status polling
# ------------------------------------------------------------------------------------------

LEARN_INPUTS = {
    "issue_number": {"required": True, "type": "number"},
    "model_name": {"required": False, "default": "claude-haiku-4-5"},
    "distinct_id": {"required": False, "default": ""},
}


def _title(inputs: dict[str, object]) -> str:
    return f"learn-async #{inputs['issue_number']} [{inputs.get('distinct_id', '')}]"


def test_dispatch_creates_a_run_that_progresses_with_polls(
    gh: FakeGitHub, repo: FakeRepo, client: Github
) -> None:
    wf = repo.add_workflow(
        "learn-async.yml",
        name="learn-async",
        run_name=_title,
        inputs=LEARN_INPUTS,
        run_states=[("in_progress", None), ("completed", "success")],
    )
    r = client.get_repo("acme/widgets")
    w = r.get_workflow("learn-async.yml")
    assert w.create_dispatch(ref="trunk", inputs={"issue_number": "42", "distinct_id": "d1"})
    req = gh.writes()[-1]
    # PyGithub completes the lazy Workflow first, then posts to its url (by numeric id)
    assert gh.requests[-2].path == "/repos/acme/widgets/actions/workflows/learn-async.yml"
    assert (req.path, req.status) == (
        f"/repos/acme/widgets/actions/workflows/{wf.id}/dispatches",
        204,
    )
    assert req.json == {"ref": "trunk", "inputs": {"issue_number": "42", "distinct_id": "d1"}}
    (d,) = wf.dispatches
    assert (d.ref, d.inputs, d.login) == (
        "trunk",
        {"issue_number": "42", "distinct_id": "d1"},
        "octo-bot",
    )
    assert d.run is not None and d.run.inputs["model_name"] == "claude-haiku-4-5"

    # the workflow itself, by file name and by id
    assert (w.id, w.name, w.path, w.state) == (
        wf.id,
        "learn-async",
        ".github/workflows/learn-async.yml",
        "active",
    )
    assert w.html_url == f"{repo.html_url}/blob/trunk/.github/workflows/learn-async.yml"
    assert r.get_workflow(wf.id).name == "learn-async"

    (run,) = list(w.get_runs(event="workflow_dispatch"))
    assert (run.id, run.display_title, run.name, run.status) == (
        d.run.id,
        "learn-async #42 [d1]",
        "learn-async",
        "queued",
    )
    assert run.conclusion is None  # (reading raw_data would GET the run: a poll)
    assert (run.event, run.head_branch, run.workflow_id, run.path) == (
        "workflow_dispatch",
        "trunk",
        wf.id,
        ".github/workflows/learn-async.yml",
    )
    assert run.html_url == f"{repo.html_url}/actions/runs/{run.id}"
    assert run.actor.login == "octo-bot" and run.run_number == 1
    assert abs((run.created_at - d.at).total_seconds()) <= 1

    seen = [(x.status, x.conclusion) for x in (r.get_workflow_run(run.id) for _ in range(4))]
    assert seen == [
        ("queued", None),
        ("in_progress", None),
        ("completed", "success"),
        ("completed", "success"),
    ]
    assert d.run.polls == 4
    assert r.get_workflow_run(run.id).display_title == "learn-async #42 [d1]"


def test_run_lists_filter_and_paginate(gh: FakeGitHub, repo: FakeRepo, client: Github) -> None:
    wf = repo.add_workflow("learn-async.yml", run_name=_title)
    other = repo.add_workflow("ci.yml", name="CI")
    old = repo.add_run(
        7, workflow=wf, event="workflow_dispatch", created_at=_ago(days=2), display_title="old"
    )
    repo.add_run(8, workflow=wf, event="push", display_title="pushed")
    repo.add_run(9, workflow=other, name="CI")
    since = _ago(seconds=1)
    w = client.get_repo("acme/widgets").get_workflow("learn-async.yml")
    for n in range(3):
        assert w.create_dispatch(ref="trunk" if n else "feature", inputs={"issue_number": n})
    new_ids = [d.run.id for d in wf.dispatches if d.run]

    runs = w.get_runs(event="workflow_dispatch")  # page_size=2: two pages
    assert [x.id for x in runs] == [*reversed(new_ids), old.id]  # newest first
    assert runs.totalCount == 4
    assert len(gh.find("GET", r"/actions/workflows/.+/runs$")) >= 2
    assert [x.display_title for x in w.get_runs(branch="feature")] == ["learn-async #0 []"]
    assert len(list(w.get_runs(status="queued"))) == 3
    assert [x.id for x in w.get_runs(status="success")] == [8, 7]  # a conclusion
    iso = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {x.id for x in w.get_runs(created=f">={iso}")} == {8, *new_ids}
    assert {x.id for x in w.get_runs(event="workflow_dispatch", created=f">={iso}")} == set(new_ids)
    day = old.created_at.strftime("%Y-%m-%d")
    assert [x.id for x in w.get_runs(created=day)] == [7]
    assert [x.id for x in w.get_runs(created=f"*..{day}")] == [7]
    assert [x.id for x in w.get_runs(created=f"<{day}")] == []
    assert 9 not in [x.id for x in w.get_runs()]
    r = client.get_repo("acme/widgets")
    assert [x.id for x in r.get_workflow_runs(event="push")] == [8]
    assert {x.id for x in r.get_workflow_runs()} == {7, 8, 9, *new_ids}
    with pytest.raises(GithubException) as info:
        list(w.get_runs(created=">=yesterday"))
    assert info.value.status == 422


def _ago(**kw: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(**kw)


def test_dispatch_validation(gh: FakeGitHub, client: Github) -> None:
    repo = gh.add_repo("acme/widgets", default_branch="trunk", branches={"trunk"})
    repo.add_workflow("learn-async.yml", inputs=LEARN_INPUTS)
    repo.add_workflow("ci.yml", dispatchable=False)
    repo.add_workflow("off.yml", state="disabled_manually")
    r = client.get_repo("acme/widgets")
    w = r.get_workflow("learn-async.yml")

    def refused(workflow: str, ref: str, inputs: dict[str, object]) -> str:
        with pytest.raises(GithubException) as info:
            r.get_workflow(workflow).create_dispatch(ref=ref, inputs=inputs, throw=True)
        assert info.value.status == 422, info.value
        return str(info.value.data["message"])

    assert refused("learn-async.yml", "trunk", {"issue_number": 1, "bogus": 2}) == (
        'Unexpected inputs provided: ["bogus"]'
    )
    assert refused("learn-async.yml", "trunk", {"model_name": "x"}) == (
        "Required input 'issue_number' not provided"
    )
    assert refused("learn-async.yml", "nope", {"issue_number": 1}) == "No ref found for: nope"
    assert "workflow_dispatch" in refused("ci.yml", "trunk", {})
    assert "disabled" in refused("off.yml", "trunk", {})
    assert w.create_dispatch(ref="trunk", inputs={"bogus": 1}) is False  # throw=False
    with pytest.raises(UnknownObjectException):
        r.get_workflow("missing.yml").create_dispatch(ref="trunk", throw=True)
    assert repo.dispatches == [] and repo.runs == {}
    assert w.create_dispatch(ref="refs/heads/trunk", inputs={"issue_number": 3})
    (d,) = repo.dispatches
    assert d.run is not None and d.run.head_branch == "trunk"


def test_dispatch_hooks_lag_and_run_details(
    gh: FakeGitHub, repo: FakeRepo, client: Github, tmp_path: Path
) -> None:
    source = tmp_path / "learn-async.yml"
    source.write_text(
        "name: learn-async\n"
        "run-name: \"learn #${{ inputs.issue_number }}${{ inputs.distinct_id && format(' [{0}]',"
        " inputs.distinct_id) || '' }} by ${{ github.actor }}\"\n"
        "on:\n  workflow_dispatch:\n    inputs:\n"
        "      issue_number: {required: true, type: number}\n"
        "      distinct_id: {required: false, default: ''}\n"
        "jobs: {}\n"
    )
    wf = repo.add_workflow("learn-async.yml", source=source, run_appears_after=2)
    assert (wf.name, wf.inputs) == (
        "learn-async",
        {
            "issue_number": {"required": True, "type": "number"},
            "distinct_id": {"required": False, "default": ""},
        },
    )
    finished: list[int] = []

    @wf.on_dispatch
    def _(d: FakeDispatch) -> None:
        if d.run is not None:
            d.run.complete("failure")  # finishes at once
            finished.append(d.run.id)

    w = client.get_repo("acme/widgets").get_workflow("learn-async.yml")
    assert w.create_dispatch(ref="trunk", inputs={"issue_number": 5, "distinct_id": "x1"})
    assert [len(list(w.get_runs())) for _ in range(3)] == [0, 0, 1]  # GitHub's lag
    (run,) = list(w.get_runs())
    assert (run.display_title, run.status, run.conclusion) == (
        "learn #5 [x1] by octo-bot",
        "completed",
        "failure",
    )
    assert finished == [run.id]

    details = w.create_dispatch(ref="trunk", inputs={"issue_number": 6}, return_run_details=True)
    assert details.id == wf.dispatches[-1].run.id  # type: ignore[union-attr]
    assert details.html_url.endswith(f"/actions/runs/{details.id}")
    assert wf.dispatches[-1].run.display_title == "learn #6 by octo-bot"  # type: ignore[union-attr]

    wf.create_runs = False
    assert w.create_dispatch(ref="trunk", inputs={"issue_number": 7})
    assert wf.dispatches[-1].run is None and len(repo.runs) == 2
