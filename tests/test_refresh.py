"""Several learn branches from the same trunk merge in any order (real git, the tasks as processes).

Learn branches never write ``docs/learned/index.md``; ``invoke refresh`` rebuilds it on the trunk
and rebuilds a learn branch that no longer merges cleanly (two branches grew the same topic doc).
"""

from __future__ import annotations

import io
import itertools
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from learn import learned_docs as docs
from learn import settings, steps
from learn.console import Output
from learn.gateways.git import Git
from learn.steps.context import Deps
from tests.support.learn_branches import BOT, bot_commit, topic_doc
from tests.support.processes import Done
from tests.support.repos import Repo, git
from tests.support.transcripts import SESSIONS, fix_session

Invoke = Callable[..., Done]
INDEX = "docs/learned/index.md"


def learn_branches(repo: Repo) -> list[str]:
    return sorted(b for b in repo.branches() if b.startswith("learn-local-"))


def docs_on(repo: Repo, ref: str) -> list[str]:
    files = repo.git("ls-tree", "-r", "--name-only", ref, "--", "docs/learned").split()
    return sorted(f for f in files if f != INDEX)


def index_links(repo: Repo) -> list[str]:
    text = (repo.path / INDEX).read_text(encoding="utf-8")
    return sorted({f"docs/learned/{link}" for link in re.findall(r"\]\(([^)]+\.md)\)", text)})


@pytest.fixture
def four_branches(repo: Repo, invoke: Invoke, tmp_path: Path) -> dict[str, str]:
    """Four learn-local branches learned from four sessions, all from the same trunk commit."""
    for n, (command, error, file) in enumerate(SESSIONS, 1):
        session = fix_session(
            tmp_path / f"s{n}.jsonl",
            f"{n}{n}{n}{n}{n}{n}{n}{n}-0000-4000-8000-00000000000{n}",
            command=command,
            error=error,
            file=file,
        )
        done = invoke("learn", "--session", str(session), "--repo", str(repo.path))
        assert done.code == 0, done.text
    branches = learn_branches(repo)
    assert len(branches) == 4
    touched = []
    for branch in branches:  # a learn branch never touches the index
        changed = repo.git("diff", "--name-only", f"trunk...{branch}").split()
        assert changed and INDEX not in changed
        assert all(f.startswith("docs/learned/") for f in changed)
        touched += changed
    assert touched.count("docs/learned/testing/pytest.md") == 2  # two sessions, one topic doc
    return {b: repo.git("rev-parse", b).strip() for b in branches}


def test_learn_branches_merge_in_any_order(
    repo: Repo, invoke: Invoke, four_branches: dict[str, str]
) -> None:
    start = repo.git("rev-parse", "trunk").strip()
    names = sorted(four_branches)
    orders = [names, names[::-1], [names[2], names[0], names[3], names[1]]]
    every_doc: list[str] | None = None
    for order in orders:
        repo.git("reset", "--quiet", "--hard", start)
        for branch, sha in four_branches.items():
            repo.git("branch", "--force", branch, sha)
        rebuilt = 0
        for branch in order:
            repo.git("merge", "--no-edit", "--quiet", branch)  # raises on a conflict
            done = invoke("refresh", "--repo", str(repo.path))
            assert done.code == 0, done.text
            rebuilt += done.out.count("rebuilt learn-local-")
        assert rebuilt == 1  # the second branch that grew testing/pytest.md, once the first merged
        pytest_doc = docs.parse(
            (repo.path / "docs/learned/testing/pytest.md").read_text(), path="testing/pytest.md"
        )
        assert len(pytest_doc.sessions) == 2 and len(pytest_doc.tripwires) == 2
        merged = docs_on(repo, "trunk")
        assert len(merged) >= 4
        assert index_links(repo) == merged  # the index names every learned doc
        assert repo.git("status", "--porcelain") == ""
        every_doc = every_doc or merged
        assert merged == every_doc  # the same docs whatever the order
    again = invoke("refresh", "--repo", str(repo.path))
    assert again.code == 0 and "is up to date" in again.out


def test_merging_several_then_one_refresh(
    repo: Repo, invoke: Invoke, four_branches: dict[str, str]
) -> None:
    pytest_doc = "docs/learned/testing/pytest.md"
    growing = [b for b in sorted(four_branches) if pytest_doc in docs_on(repo, b)]
    last = growing[-1]  # conflicts once the other branch growing the same doc is merged
    for branch in sorted(four_branches):
        if branch != last:
            repo.git("merge", "--no-edit", "--quiet", branch)
    assert not (repo.path / INDEX).exists()
    done = invoke("refresh", "--repo", str(repo.path))
    assert done.code == 0, done.text
    assert f"rebuilt {last}" in done.out
    subject = repo.git("log", "-1", "--format=%s%n%ae", "trunk").split("\n")
    assert subject[:2] == ["Regenerate the learned docs index", BOT.email]
    repo.git("merge", "--no-edit", "--quiet", last)
    assert invoke("refresh", "--repo", str(repo.path)).code == 0
    assert index_links(repo) == docs_on(repo, "trunk")


# -- the same topic doc grown on two branches -------------------------------------------------------
def refresh(repo: Repo) -> str:
    """``invoke refresh --repo R``, in this process (the tests above run it as one)."""
    out = io.StringIO()
    resolved = settings.load(repo.path, {})
    deps = Deps(resolved, Output(stream=out), Git(repo.path))
    done = steps.refresh(Git(repo.path), deps, push=False)
    return out.getvalue() + "".join(f"rebuilt {b}\n" for b in done.rebuilt)


def test_two_branches_growing_one_topic_doc(repo: Repo) -> None:
    base_doc = topic_doc("running bare pytest", "s-0", "use `python -m pytest`")
    bot_commit(repo, "trunk", "trunk", base_doc, "2026-11-01")  # the doc is on the trunk
    start = repo.git("rev-parse", "trunk").strip()
    grown = {}
    for n, (trip, entry) in enumerate(
        [("running pytest -x", "run `pytest -p no:cacheprovider`"), ("running tox", "use `nox`")],
        1,
    ):
        doc = topic_doc(trip, f"s-{n}", entry)
        doc.tripwires = [*base_doc.tripwires, *doc.tripwires]
        doc.body = base_doc.body + f"- {entry}\n"
        bot_commit(repo, f"learn-local-t{n}", start, doc, f"2026-11-0{n + 1}")
        grown[f"learn-local-t{n}"] = repo.git("rev-parse", "HEAD").strip()
    repo.git("switch", "--quiet", "trunk")
    for first, second in itertools.permutations(sorted(grown)):
        repo.git("reset", "--quiet", "--hard", start)
        for branch, sha in grown.items():
            repo.git("branch", "--force", branch, sha)
        repo.git("merge", "--no-edit", "--quiet", first)
        with pytest.raises(subprocess.CalledProcessError):
            git(repo.path, "merge-tree", "--write-tree", "trunk", second)  # git alone conflicts
        assert f"rebuilt {second}" in refresh(repo)
        repo.git("merge", "--no-edit", "--quiet", second)
        merged = docs.parse(
            (repo.path / "docs/learned/testing/pytest.md").read_text(), path="testing/pytest.md"
        )
        assert sorted(t.action for t in merged.tripwires) == [
            "running bare pytest",
            "running pytest -x",
            "running tox",
        ]
        assert merged.sessions[0] == "s-0" and sorted(merged.sessions) == ["s-0", "s-1", "s-2"]
        assert merged.body.count("python -m pytest") == 1
        assert "pytest -p no:cacheprovider" in merged.body and "`nox`" in merged.body
        assert merged.last_updated == "2026-11-03"


def test_a_branch_a_person_pushed_to_is_not_rewritten(repo: Repo) -> None:
    base_doc = topic_doc("running bare pytest", "s-0", "use `python -m pytest`")
    bot_commit(repo, "trunk", "trunk", base_doc, "2026-11-01")
    start = repo.git("rev-parse", "trunk").strip()
    for n in (1, 2):
        doc = topic_doc("running bare pytest", f"s-{n}", f"entry {n}")
        doc.body = base_doc.body + f"- entry {n}\n"
        bot_commit(repo, f"learn-local-p{n}", start, doc, "2026-11-02")
    (repo.path / "docs/learned/testing/pytest.md").write_text(
        (repo.path / "docs/learned/testing/pytest.md").read_text() + "- a person's note\n"
    )
    repo.git("commit", "--quiet", "-am", "A person's edit")  # learn-local-p2 is not bot-only now
    before = repo.git("rev-parse", "learn-local-p2").strip()
    repo.git("switch", "--quiet", "trunk")
    repo.git("merge", "--no-edit", "--quiet", "learn-local-p1")
    assert "has commits by others" in refresh(repo)
    assert repo.git("rev-parse", "learn-local-p2").strip() == before
