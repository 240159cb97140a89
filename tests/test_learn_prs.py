"""Several learn PRs at once, against the loopback GitHub fake backed by the real bare remote.

Learn PRs opened from the same trunk are merged server-side (the fake's merge endpoint runs git,
as GitHub's merge button does) in different orders, with ``refresh --push`` after each merge, as
the workflow runs it on a push to the trunk; a re-learn updates the plan's open PR.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from github import Auth, Github

from learn import plan_header, settings
from learn.console import Output
from learn.gateways.git import Git
from learn.steps.context import Deps, github_factory
from learn.steps.refresh import refresh
from tests.fakes.github_api import FakeGitHub, FakePull, FakeRepo, make_zip
from tests.support.github_world import TOKEN, plan_body
from tests.support.learn_branches import BOT, bot_commit, topic_doc
from tests.support.processes import Done
from tests.support.repos import EXAMPLES, Repo, git
from tests.support.transcripts import SESSIONS, fix_session

INDEX = "docs/learned/index.md"


@dataclass
class Plans:
    gh: FakeGitHub
    repo: FakeRepo
    clone: Repo
    numbers: list[int]
    invoke: Callable[..., Done]

    def env(self, run: str) -> dict[str, str]:
        return {
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "acme/widgets",
            "GITHUB_API_URL": self.gh.base_url,
            "GITHUB_RUN_ID": run,
            "LEARN_GITHUB_BACKOFF": "0.01",
            "LEARN_ENGINE": "offline",
        }

    def learn(self, number: int, run: str, *extra: str) -> Done:
        args = ("learn", "--issue", str(number), "--repo", str(self.clone.path), *extra)
        return self.invoke(*args, env=self.env(run))

    def refresh(self, *, process: bool = True) -> str:
        """``refresh --push`` as the workflow runs it: as a process, or in this one (faster)."""
        if process:
            done = self.invoke(
                "refresh", "--push", "--repo", str(self.clone.path), env=self.env("9")
            )
            assert done.code == 0, done.text
            return done.out
        out, env = io.StringIO(), self.env("9")
        git_ = Git(self.clone.path)
        resolved = settings.load(self.clone.path, {"push": True})
        deps = Deps(resolved, Output(stream=out), git_, github_factory(git_, resolved, env), env)
        refresh(git_, deps, push=True)
        return out.getvalue()

    def header(self, number: int) -> dict[str, object]:
        header = plan_header.read_header(self.repo.issues[number].body or "")
        assert header is not None
        return header

    def merge(self, pr: FakePull) -> None:
        pr.draft = False  # a reviewer marks it ready
        client = Github(base_url=self.gh.base_url, auth=Auth.Token(TOKEN), retry=None)
        status = client.get_repo("acme/widgets").get_pull(pr.number).merge()
        assert status.merged, status.message

    def remote_file(self, ref: str, path: str) -> str:
        return git(self.clone.remote, "show", f"{ref}:{path}")

    def remote_docs(self, ref: str = "trunk") -> list[str]:
        files = git(self.clone.remote, "ls-tree", "-r", "--name-only", ref, "docs/learned").split()
        return sorted(f for f in files if f != INDEX)


def add_plan(repo: FakeRepo, tmp: Path, n: int, title: str) -> int:
    command, error, file = SESSIONS[n]
    sid = f"{n + 1}{n + 1}{n + 1}{n + 1}0000-0000-4000-8000-00000000000{n + 1}"
    session = fix_session(tmp / f"plan{n}.jsonl", sid, command=command, error=error, file=file)
    run_id = 5000 + n
    repo.add_run(run_id).add_artifact(
        f"session-{sid}", make_zip({f"{sid}.jsonl": session.read_bytes()})
    )
    body = plan_body(last_remote_impl_run_id=str(run_id), last_remote_impl_session_id=sid)
    return repo.add_issue(title=title, body=body, labels=["erk-plan"]).number


@pytest.fixture
def plans(repo: Repo, invoke: Callable[..., Done], tmp_path: Path) -> Iterator[Plans]:
    with FakeGitHub(tokens={TOKEN}) as gh:
        fake = gh.add_repo("acme/widgets", default_branch="trunk", git_dir=repo.remote)
        numbers = [add_plan(fake, tmp_path, n, f"Plan {n}") for n in range(4)]
        yield Plans(gh, fake, repo, numbers, invoke)


def index_links(text: str) -> list[str]:
    return sorted({f"docs/learned/{link}" for link in re.findall(r"\]\(([^)]+\.md)\)", text)})


def test_learn_prs_merge_server_side_in_any_order(plans: Plans) -> None:
    for i, number in enumerate(plans.numbers):
        done = plans.learn(number, f"80{i}")
        assert done.code == 0, done.text
    pulls = sorted(plans.repo.open_pulls(), key=lambda p: p.number)
    assert len(pulls) == 4
    start = git(plans.clone.remote, "rev-parse", "trunk").strip()
    heads = {p.head: git(plans.clone.remote, "rev-parse", p.head).strip() for p in pulls}
    orders = [pulls, pulls[::-1], [pulls[1], pulls[3], pulls[0], pulls[2]]]
    every: list[str] | None = None
    for order in orders:
        git(plans.clone.remote, "update-ref", "refs/heads/trunk", start)
        for branch, sha in heads.items():
            git(plans.clone.remote, "update-ref", f"refs/heads/{branch}", sha)
        for pr in pulls:
            pr.state, pr.merged, pr.closed_at = "open", False, None
        rebuilt = 0
        for pr in order:
            plans.merge(pr)  # 405 "not mergeable" on a conflict
            out = plans.refresh(process=order is pulls and pr is order[0])
            rebuilt += out.count("rebuilt learn-")
        assert rebuilt == 1  # the other PR that grew testing/pytest.md
        merged = plans.remote_docs()
        assert len(merged) >= 4
        assert index_links(plans.remote_file("trunk", INDEX)) == merged
        every = every or merged
        assert merged == every
    log = git(plans.clone.remote, "log", "--format=%an %s", "trunk")
    assert f"{BOT.name} Regenerate the learned docs index" in log
    assert "GitHub Merge pull request" in log


def test_force_relearn_updates_the_open_pr(plans: Plans) -> None:
    number = plans.numbers[0]
    first = plans.learn(number, "801")
    assert first.code == 0, first.text
    (pr,) = plans.repo.open_pulls()
    branch = pr.head
    before = git(plans.clone.remote, "rev-parse", branch).strip()
    plans.gh.clear_log()
    again = plans.learn(number, "802", "--force")
    assert again.code == 0, again.text
    assert (
        "updating its branch" in again.out
        and f"updated draft pull request #{pr.number}" in again.out
    )
    assert [p.number for p in plans.repo.pulls.values()] == [pr.number]  # exactly one PR
    after = git(plans.clone.remote, "rev-parse", branch).strip()
    assert after != before  # rebuilt from the trunk and force-pushed
    assert git(plans.clone.remote, "rev-list", "--count", f"trunk..{branch}").strip() == "1"
    header = plans.header(number)
    assert header["learn_pr"] == pr.number and header["learn_branch"] == branch
    assert header["learn_run_id"] == "802" and header["learn_status"] == "pending_review"
    api = [r for r in plans.gh.requests if not r.path.startswith("/_")]
    assert len(api) <= 10, [(r.method, r.path) for r in api]
    assert not plans.gh.count("POST", r"/pulls$")


def test_relearn_keeps_commits_people_pushed(plans: Plans, tmp_path: Path) -> None:
    number = plans.numbers[0]
    assert plans.learn(number, "801").code == 0
    (pr,) = plans.repo.open_pulls()
    other = tmp_path / "reviewer"
    git(tmp_path, "clone", "--quiet", "--branch", pr.head, str(plans.clone.remote), str(other))
    (other / "docs/learned/NOTE.md").write_text("a reviewer's note\n")
    git(other, "add", ".")
    git(other, "commit", "--quiet", "-m", "Reviewer's note")
    git(other, "push", "--quiet", "origin", pr.head)
    theirs = git(other, "rev-parse", "HEAD").strip()
    again = plans.learn(number, "802", "--force")
    assert "commits by people" in again.text
    git(plans.clone.remote, "merge-base", "--is-ancestor", theirs, pr.head)  # not rewritten
    assert len(plans.repo.pulls) == 1


def test_relearn_after_the_pr_was_closed_opens_a_new_one(plans: Plans) -> None:
    number = plans.numbers[0]
    assert plans.learn(number, "801").code == 0
    (old,) = plans.repo.open_pulls()
    old._set_state("closed")  # closed without merging
    again = plans.learn(number, "802", "--force")
    assert again.code == 0, again.text
    (new,) = plans.repo.open_pulls()
    assert new.number != old.number and old.state == "closed"
    assert plans.header(number)["learn_pr"] == new.number
    assert new.head == f"learn-{number}-802"


def test_conflicting_learn_prs_are_rebuilt_and_force_pushed(plans: Plans) -> None:
    clone = plans.clone
    base_doc = topic_doc("running bare pytest", "s-0", "use `python -m pytest`")
    bot_commit(clone, "trunk", "trunk", base_doc, "2026-11-01")
    clone.git("push", "--quiet", "origin", "trunk")
    start = clone.git("rev-parse", "trunk").strip()
    prs = []
    for n in (1, 2):
        doc = topic_doc(f"running step {n}", f"s-{n}", f"entry {n}")
        doc.tripwires = [*base_doc.tripwires, *doc.tripwires]
        doc.body = base_doc.body + f"- entry {n}\n"
        branch = f"learn-{plans.numbers[n]}-70{n}"
        bot_commit(clone, branch, start, doc, f"2026-11-0{n + 1}")
        clone.git("push", "--quiet", "origin", branch)
        prs.append(plans.repo.add_pull(branch, base="trunk", title=f"Learned docs {n}"))
    clone.git("switch", "--quiet", "trunk")
    before = git(clone.remote, "rev-parse", prs[1].head).strip()
    plans.merge(prs[0])
    with pytest.raises(Exception, match="not mergeable"):
        plans.merge(prs[1])  # GitHub's merge button would refuse it too
    out = plans.refresh(process=False)
    assert f"rebuilt {prs[1].head}" in out
    after = git(clone.remote, "rev-parse", prs[1].head).strip()
    assert after != before
    plans.merge(prs[1])
    text = plans.remote_file("trunk", "docs/learned/testing/pytest.md")
    assert "entry 1" in text and "entry 2" in text and "running step 2" in text
    assert "docs/learned/testing/pytest.md" in index_links(plans.remote_file("trunk", INDEX))


# -- consolidated learning: several plans, one PR ---------------------------------------------------
def session_of(plans: Plans, number: int) -> str:
    return str(plans.header(number)["last_remote_impl_session_id"])


def test_consolidated_run_over_three_plans(plans: Plans) -> None:
    learned, expired, nothing = plans.numbers[:3]
    plans.repo.runs[5001].artifacts[0].expired = True
    sid = session_of(plans, nothing)
    plans.repo.runs[5002].artifacts[0].data = make_zip(
        {f"{sid}.jsonl": (EXAMPLES / "nothing-to-learn.jsonl").read_bytes()}
    )
    plans.gh.clear_log()
    args = ("--issue", str(learned), "--issue", f"{expired},{nothing}")
    done = plans.invoke("learn", *args, "--repo", str(plans.clone.path), env=plans.env("810"))
    assert done.code == 0, done.text
    (pr,) = plans.repo.open_pulls()
    assert pr.head == "learn-plans-810" and pr.draft
    assert f"#{learned}" in pr.title and f"#{expired}" in (pr.body or "")
    ok, failed, empty = (plans.header(n) for n in (learned, expired, nothing))
    assert ok["learn_status"] == "pending_review" and ok["learn_pr"] == pr.number
    assert ok["learn_branch"] == "learn-plans-810"
    assert failed["learn_status"] == "failed" and "expired" in str(failed["learn_error"])
    assert empty["learn_status"] == "completed_no_changes"
    comments = plans.repo.issues[nothing].comment_bodies()
    assert len(comments) == 1 and "nothing new" in comments[0]
    assert len(plans.repo.issues[learned].comment_bodies()) == 0
    files = git(plans.clone.remote, "diff", "--name-only", f"trunk...{pr.head}").split()
    assert files and all(f.startswith("docs/learned/") and f != INDEX for f in files)
    api = [r for r in plans.gh.requests if not r.path.startswith("/_")]
    print(f"\nGitHub requests, consolidated run over 3 plans: {len(api)}")
    assert len(api) <= 10 * 3, [(r.method, r.path) for r in api]


def test_consolidated_by_label_one_bad_artifact_does_not_sink_the_others(plans: Plans) -> None:
    done_before = plans.numbers[0]
    plans.repo.issues[done_before].body = plan_body(learn_status="completed_no_changes")
    bad = plans.numbers[2]
    plans.repo.runs[5002].artifacts[0].data = b"not a zip archive"
    args = ("--label", "erk-plan", "--not-learned", "--limit", "3")
    done = plans.invoke("learn", *args, "--repo", str(plans.clone.path), env=plans.env("811"))
    assert done.code == 0, done.text
    (pr,) = plans.repo.open_pulls()
    chosen = plans.numbers[1:4]  # the learned one is left out; at most 3
    assert plans.header(done_before)["learn_status"] == "completed_no_changes"
    for number in chosen:
        header = plans.header(number)
        if number == bad:
            assert header["learn_status"] == "failed" and header.get("learn_error")
        else:
            assert header["learn_status"] == "pending_review" and header["learn_pr"] == pr.number
    commits = git(plans.clone.remote, "rev-list", "--count", f"trunk..{pr.head}").strip()
    assert commits == "2"  # one commit per plan that taught something
    again = plans.invoke("learn", *args, "--repo", str(plans.clone.path), env=plans.env("812"))
    assert again.code == 1 and "no plan could be learned" in again.text  # only the bad one is left
    assert len(plans.repo.open_pulls()) == 1


def test_consolidated_publish_fails_then_a_rerun_continues(plans: Plans) -> None:
    first, second = plans.numbers[:2]
    plans.gh.forbid_pull_request_creation(times=1)
    args = ("--issue", f"{first} {second}", "--repo", str(plans.clone.path))
    failed = plans.invoke("learn", *args, env=plans.env("820"))
    assert failed.code == 1 and "may not create pull requests" in failed.text
    assert plans.header(first)["learn_status"] == "failed"
    again = plans.invoke("publish", *args, env=plans.env("820"))
    assert again.code == 0, again.text
    (pr,) = plans.repo.open_pulls()
    for number in (first, second):
        header = plans.header(number)
        assert header["learn_status"] == "pending_review" and header["learn_pr"] == pr.number
        assert "learn_error" not in header


def test_relearning_one_plan_of_a_consolidated_pr_leaves_the_shared_pr_alone(plans: Plans) -> None:
    first, second = plans.numbers[1:3]
    args = ("--issue", f"{first} {second}", "--repo", str(plans.clone.path))
    assert plans.invoke("learn", *args, env=plans.env("830")).code == 0
    (shared,) = plans.repo.open_pulls()
    before = git(plans.clone.remote, "rev-parse", shared.head).strip()
    again = plans.learn(first, "831", "--force")
    assert again.code == 0, again.text
    assert "consolidated learn PR" in again.text
    assert git(plans.clone.remote, "rev-parse", shared.head).strip() == before
    own = next(p for p in plans.repo.open_pulls() if p.number != shared.number)
    assert own.head == f"learn-{first}-831" and plans.header(first)["learn_pr"] == own.number
