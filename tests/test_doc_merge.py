"""The three-way merge of one learned doc (the line merge is real ``git merge-file --union``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from learn import learned_docs as docs
from learn.doc_merge import merge_doc, merge_lists
from learn.gateways.git import Git

PATH = "docs/learned/testing/pytest.md"


@pytest.fixture
def lines(tmp_path: Path):  # type: ignore[no-untyped-def]
    return Git(tmp_path).merge_text


def doc(entries: list[str], trips: list[str], sessions: list[str], day: str) -> str:
    return docs.render(
        docs.LearnedDoc(
            category="testing",
            slug="pytest",
            title="Running the tests",
            read_when=["running the tests"],
            body="# Running the tests\n\n" + "".join(f"- {e}\n" for e in entries),
            tripwires=[docs.Tripwire(t, "see the doc") for t in trips],
            sessions=sessions,
            last_updated=day,
        )
    )


def test_merge_lists_keeps_additions_and_removals() -> None:
    assert merge_lists([1, 2, 3], [1, 2, 3, 4], [1, 3, 5]) == [1, 3, 4, 5]
    assert merge_lists([], ["a"], ["a", "b"]) == ["a", "b"]


def test_both_sides_grew_the_same_doc(lines) -> None:  # type: ignore[no-untyped-def]
    base = doc(["use python -m pytest"], ["bare pytest"], ["s0"], "2026-11-01")
    ours = doc(
        ["use python -m pytest", "run -p no:cacheprovider"],
        ["bare pytest", "pytest -x"],
        ["s0", "s1"],
        "2026-11-02",
    )
    theirs = doc(
        ["use python -m pytest", "use nox"], ["bare pytest", "tox"], ["s0", "s2"], "2026-11-03"
    )
    merged = docs.parse(merge_doc(PATH, base, ours, theirs, lines) or "", path=PATH)
    assert [t.action for t in merged.tripwires] == ["bare pytest", "pytest -x", "tox"]
    assert merged.sessions == ["s0", "s1", "s2"] and merged.last_updated == "2026-11-03"
    assert merged.body == (
        "# Running the tests\n\n- use python -m pytest\n- run -p no:cacheprovider\n- use nox\n"
    )


def test_a_removal_on_the_trunk_stays_removed(lines) -> None:  # type: ignore[no-untyped-def]
    base = doc(["a", "b"], ["x", "y"], ["s0"], "2026-11-01")
    ours = doc(["b"], ["y"], ["s0"], "2026-11-02")  # a person dropped an entry and a tripwire
    theirs = doc(["a", "b", "c"], ["x", "y", "z"], ["s0", "s1"], "2026-11-02")
    merged = docs.parse(merge_doc(PATH, base, ours, theirs, lines) or "", path=PATH)
    assert [t.action for t in merged.tripwires] == ["y", "z"]
    assert "- a\n" not in merged.body and "- c\n" in merged.body


def test_created_on_both_sides_shares_its_common_lines(lines) -> None:  # type: ignore[no-untyped-def]
    ours = doc(["first"], ["x"], ["s1"], "2026-11-02")
    theirs = doc(["second"], ["y"], ["s2"], "2026-11-02")
    merged = docs.parse(merge_doc(PATH, None, ours, theirs, lines) or "", path=PATH)
    assert merged.body.count("# Running the tests") == 1
    assert "- first\n" in merged.body and "- second\n" in merged.body
    assert merged.sessions == ["s1", "s2"]


def test_one_sided_changes_and_deletions(lines) -> None:  # type: ignore[no-untyped-def]
    base = doc(["a"], [], ["s0"], "2026-11-01")
    changed = doc(["a", "b"], [], ["s0"], "2026-11-02")
    assert merge_doc(PATH, base, base, changed, lines) == changed
    assert merge_doc(PATH, base, changed, base, lines) == changed
    assert merge_doc(PATH, base, changed, None, lines) == changed  # kept: the trunk changed it
    assert merge_doc(PATH, base, base, None, lines) is None


def test_a_doc_that_does_not_parse_gets_the_line_merge(lines) -> None:  # type: ignore[no-untyped-def]
    merged = merge_doc(PATH, "x\n", "x\nours\n", "x\ntheirs\n", lines)
    assert merged == "x\nours\ntheirs\n"
