from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learn.errors import DocError
from learn.learned_docs import (
    BANNER,
    LearnedDoc,
    Tripwire,
    WriteOutcome,
    load_docs,
    parse,
    regenerate_index,
    render,
    slugify,
    validate_tree,
    write_doc,
)

TOKEN = "ghp_" + "A1b2" * 9  # looks like a GitHub token; built at runtime so no scanner trips


def make_doc(**overrides: Any) -> LearnedDoc:
    fields: dict[str, Any] = {
        "category": "testing",
        "slug": "running-tests",
        "title": "Running the test suite in this repo",
        "read_when": ["running pytest here", "a test fails with ModuleNotFoundError"],
        "body": "# Running the test suite in this repo\n\nUse `python -m pytest`.\n",
        "tripwires": [
            Tripwire(
                "running bare `pytest`", "the package is not importable; use `python -m pytest`"
            )
        ],
        "issue": 123,
        "sessions": ["5f0c1234-aaaa"],
        "last_updated": "2026-11-23",
    }
    fields.update(overrides)
    return LearnedDoc(**fields)


GOLDEN = """\
---
title: Running the test suite in this repo
read_when:
- running pytest here
- a test fails with ModuleNotFoundError
tripwires:
- action: running bare `pytest`
  warning: the package is not importable; use `python -m pytest`
learned_from:
  issue: 123
  sessions:
  - 5f0c1234-aaaa
last_updated: '2026-11-23'
---

# Running the test suite in this repo

Use `python -m pytest`.
"""


# --- render / parse ---------------------------------------------------------------------------


def test_render_is_stable_and_matches_golden() -> None:
    assert render(make_doc()) == GOLDEN
    assert render(make_doc()) == render(make_doc())


def test_render_key_order_and_body_normalisation() -> None:
    text = render(make_doc(tripwires=[], issue=None, body="\n\n  \nhello\n\n\n"))
    keys = [
        line.split(":")[0] for line in text.split("---\n")[1].splitlines() if line[:1].isalpha()
    ]
    assert keys == ["title", "read_when", "learned_from", "last_updated"]
    assert "  issue: null\n" in text
    assert text.endswith("---\n\nhello\n")


def test_round_trip_with_path() -> None:
    doc = make_doc()
    assert parse(render(doc), path=doc.relpath) == doc
    assert doc.relpath == Path("testing/running-tests.md")


def test_parse_without_path_uses_defaults() -> None:
    doc = parse(render(make_doc()))
    assert (doc.category, doc.slug) == ("general", "running-the-test-suite-in-this-repo")


def test_parse_absolute_path_takes_last_two_components(tmp_path: Path) -> None:
    doc = parse(render(make_doc()), path=tmp_path / "ops" / "deploys.md")
    assert (doc.category, doc.slug) == ("ops", "deploys")


def test_extra_keys_preserved_and_rendered_after_known_keys() -> None:
    text = render(make_doc()).replace(
        "title: Running", "confidence: high\ntags: [a, b]\ntitle: Running", 1
    )
    doc = parse(text, path="testing/running-tests.md")
    assert doc.extra == {"confidence": "high", "tags": ["a", "b"]}
    again = render(doc)
    assert again.index("last_updated:") < again.index("confidence: high") < again.index("tags:")
    assert parse(again, path="testing/running-tests.md") == doc


def test_hand_written_doc_with_unquoted_date_and_no_optional_keys() -> None:
    text = "---\ntitle: T\nread_when: [x]\nlast_updated: 2026-01-02\n---\nbody\n"
    doc = parse(text, path="a/b.md")
    assert doc.last_updated == "2026-01-02"
    assert (doc.tripwires, doc.issue, doc.sessions, doc.body) == ([], None, [], "body\n")


def test_crlf_and_bom_are_tolerated() -> None:
    text = "\ufeff---\r\ntitle: T\r\nread_when: [x]\r\n---\r\nbody\r\n"
    assert parse(text, path="a/b.md").title == "T"


nonblank = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")


@settings(max_examples=150, deadline=None)
@given(
    title=nonblank,
    read_when=st.lists(nonblank, min_size=1, max_size=4),
    tripwires=st.lists(st.builds(Tripwire, nonblank, nonblank), max_size=3),
    body=st.text(max_size=200),
    issue=st.none() | st.integers(min_value=1, max_value=10**9),
    sessions=st.lists(st.text(min_size=1, max_size=20), max_size=3),
    last_updated=st.none() | st.dates().map(lambda d: d.isoformat()).filter(lambda s: len(s) == 10),
)
def test_round_trip_property(
    title: str,
    read_when: list[str],
    tripwires: list[Tripwire],
    body: str,
    issue: int | None,
    sessions: list[str],
    last_updated: str | None,
) -> None:
    doc = make_doc(
        title=title,
        read_when=read_when,
        tripwires=tripwires,
        body=body,
        issue=issue,
        sessions=sessions,
        last_updated=last_updated,
    )
    text = render(doc)
    assert parse(text, path=doc.relpath) == doc
    assert render(parse(text, path=doc.relpath)) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title: T\n", "no YAML front matter"),
        ("", "no YAML front matter"),
        ("---\ntitle: T\nread_when: [x]\n", "unterminated front matter"),
        ("---\ntitle: T\nread_when: [x\n---\n", "invalid YAML in front matter at line"),
        ("---\n- a\n- b\n---\n", "front matter must be a YAML mapping"),
        ("---\n---\n", "front matter must be a YAML mapping"),
        ("---\nread_when: [x]\n---\n", "missing or empty `title`"),
        ("---\ntitle: '  '\nread_when: [x]\n---\n", "missing or empty `title`"),
        ("---\ntitle: 5\nread_when: [x]\n---\n", "missing or empty `title`"),
        ("---\ntitle: T\n---\n", "`read_when` must be a non-empty list"),
        ("---\ntitle: T\nread_when: x\n---\n", "`read_when` must be a non-empty list"),
        ("---\ntitle: T\nread_when: []\n---\n", "`read_when` must be a non-empty list"),
        ("---\ntitle: T\nread_when: [1]\n---\n", "`read_when` must be a non-empty list"),
        ("---\ntitle: T\nread_when: [x]\ntripwires: x\n---\n", "`tripwires` must be a list"),
        ("---\ntitle: T\nread_when: [x]\ntripwires: [x]\n---\n", "`tripwires[0]` must be"),
        (
            "---\ntitle: T\nread_when: [x]\ntripwires: [{action: a}]\n---\n",
            "exactly `action` and `warning`",
        ),
        (
            "---\ntitle: T\nread_when: [x]\ntripwires: [{action: a, warning: ''}]\n---\n",
            "`tripwires[0].warning` must be a non-empty string",
        ),
        ("---\ntitle: T\nread_when: [x]\nlearned_from: 5\n---\n", "`learned_from` must be a map"),
        (
            "---\ntitle: T\nread_when: [x]\nlearned_from: {issue: abc}\n---\n",
            "`learned_from.issue` must be an issue number",
        ),
        (
            "---\ntitle: T\nread_when: [x]\nlearned_from: {sessions: s}\n---\n",
            "`learned_from.sessions` must be a list",
        ),
        (
            "---\ntitle: T\nread_when: [x]\nlearned_from: {run: 1}\n---\n",
            "`learned_from` has unknown keys: run",
        ),
        ("---\ntitle: T\nread_when: [x]\nlast_updated: soon\n---\n", "`last_updated` must be"),
    ],
)
def test_parse_errors_name_the_file_and_the_problem(text: str, expected: str) -> None:
    with pytest.raises(DocError) as info:
        parse(text, path="testing/bad.md")
    message = str(info.value)
    assert message.startswith("testing/bad.md: ")
    assert expected in message
    assert "\n" not in message


def test_yaml_error_reports_the_file_line() -> None:
    text = "---\ntitle: T\nread_when:\n  - a\n bad: [\n---\n"
    with pytest.raises(DocError, match=r"at line [56]\b"):
        parse(text, path="a/b.md")


def test_parse_without_path_names_doc() -> None:
    with pytest.raises(DocError, match=r"^<doc>: no YAML front matter"):
        parse("hello")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Testing/x.md", "invalid category 'Testing'"),
        ("my notes/x.md", "invalid category 'my notes'"),
        ("testing/Foo_Bar.md", "invalid slug 'Foo_Bar'"),
        ("testing/-x.md", "invalid slug '-x'"),
        ("x.md", "invalid category ''"),
        ("testing/x.txt", "not a Markdown file"),
    ],
)
def test_parse_rejects_bad_category_or_slug(path: str, expected: str) -> None:
    with pytest.raises(DocError, match=expected):
        parse(render(make_doc()), path=path)


def test_render_rejects_extra_key_clashing_with_known_key() -> None:
    with pytest.raises(DocError, match="clashes with a known key"):
        render(make_doc(extra={"title": "x"}))


# --- slugify ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Running the test suite!", "running-the-test-suite"),
        ("  --Héllo,  Wörld--  ", "hello-world"),
        ("CI: `nox -s lint` fails", "ci-nox-s-lint-fails"),
        ("日本語", "untitled"),
        ("", "untitled"),
        ("---", "untitled"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_slugify_truncates_without_trailing_hyphen() -> None:
    assert slugify("abc def ghi", max_len=4) == "abc"
    assert len(slugify("word " * 50)) <= 60
    assert not slugify("word " * 50).endswith("-")


@given(st.text())
def test_slugify_always_valid(text: str) -> None:
    slug = slugify(text)
    assert slug and len(slug) <= 60
    assert slug == slug.strip("-") and all(c.isascii() and (c.isalnum() or c == "-") for c in slug)
    assert slug == slug.lower()


# --- write_doc --------------------------------------------------------------------------------


def test_write_doc_created(tmp_path: Path) -> None:
    doc = make_doc(last_updated=None)
    assert write_doc(tmp_path, doc, today="2026-11-23") == WriteOutcome.CREATED
    written = (tmp_path / "testing" / "running-tests.md").read_text()
    assert written == GOLDEN
    assert [p.name for p in (tmp_path / "testing").iterdir()] == ["running-tests.md"]


def test_write_doc_unchanged_leaves_file_alone(tmp_path: Path) -> None:
    write_doc(tmp_path, make_doc(), today="2026-11-23")
    path = tmp_path / "testing" / "running-tests.md"
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = path.read_bytes()
    # re-learning the same session on a later day: nothing but the date would change
    assert write_doc(tmp_path, make_doc(), today="2027-01-01") == WriteOutcome.UNCHANGED
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == 1_000_000_000
    assert "last_updated: '2026-11-23'" in before.decode()


def test_write_doc_updated_merges_sessions_and_bumps_date(tmp_path: Path) -> None:
    write_doc(tmp_path, make_doc(sessions=["s1", "s2"]), today="2026-11-23")
    changed = make_doc(sessions=["s2", "s3", "s3"], body="# New\n\nmore\n")
    assert write_doc(tmp_path, changed, today="2026-12-01") == WriteOutcome.UPDATED
    doc = parse((tmp_path / changed.relpath).read_text(), path=changed.relpath)
    assert doc.sessions == ["s1", "s2", "s3"]
    assert doc.last_updated == "2026-12-01"
    assert doc.body == "# New\n\nmore\n"


def test_write_doc_new_session_alone_updates(tmp_path: Path) -> None:
    write_doc(tmp_path, make_doc(sessions=["s1"]), today="2026-11-23")
    assert write_doc(tmp_path, make_doc(sessions=["s2"]), today="2026-11-24") == "updated"
    assert write_doc(tmp_path, make_doc(sessions=["s1", "s2"]), today="2026-11-25") == "unchanged"


def test_write_doc_keeps_old_issue_and_extra_keys(tmp_path: Path) -> None:
    write_doc(tmp_path, make_doc(issue=7, extra={"confidence": "high"}), today="2026-11-23")
    assert write_doc(tmp_path, make_doc(issue=None), today="2026-11-24") == "unchanged"
    write_doc(tmp_path, make_doc(issue=None, body="changed"), today="2026-11-24")
    doc = parse((tmp_path / "testing/running-tests.md").read_text(), path="testing/x.md")
    assert (doc.issue, doc.extra) == (7, {"confidence": "high"})


def test_write_doc_replaces_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "testing" / "running-tests.md"
    path.parent.mkdir()
    path.write_text("not a doc")
    assert write_doc(tmp_path, make_doc(), today="2026-11-23") == WriteOutcome.UPDATED
    assert parse(path.read_text(), path=path).title == make_doc().title


def test_write_doc_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_doc(tmp_path / name, make_doc(), today="2026-11-23")
    rel = make_doc().relpath
    assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_write_doc_redacts_secrets(tmp_path: Path) -> None:
    doc = make_doc(
        title=f"Token {TOKEN} leaked",
        read_when=[f"using {TOKEN}"],
        tripwires=[Tripwire(f"export GH_TOKEN={TOKEN}", f"never paste {TOKEN}")],
        body=f"# Oops\n\nThe token was {TOKEN}.\n",
    )
    write_doc(tmp_path, doc, today="2026-11-23")
    text = (tmp_path / doc.relpath).read_text()
    assert TOKEN not in text
    assert "The token was" in text
    assert validate_tree(tmp_path) == []


def test_write_doc_rejects_invalid_doc_without_writing(tmp_path: Path) -> None:
    with pytest.raises(DocError, match="read_when"):
        write_doc(tmp_path, make_doc(read_when=[]), today="2026-11-23")
    assert list(tmp_path.iterdir()) == []


def test_write_doc_rejects_bad_today(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="today"):
        write_doc(tmp_path, make_doc(), today="23/11/2026")


@pytest.mark.parametrize(
    ("category", "slug"),
    [
        ("..", "x"),
        ("../outside", "x"),
        ("/etc", "x"),
        ("testing", "../../escape"),
        ("testing", "a/b"),
        ("testing", ".."),
        ("Testing", "x"),
        ("", "x"),
        ("testing", ""),
        ("testing", "-x"),
        ("testing", "x.md"),
    ],
)
def test_write_doc_path_safety(tmp_path: Path, category: str, slug: str) -> None:
    root = tmp_path / "docs"
    with pytest.raises(DocError, match=r"invalid (category|slug)"):
        write_doc(root, make_doc(category=category, slug=slug), today="2026-11-23")
    assert list(tmp_path.iterdir()) == []


# --- load / validate --------------------------------------------------------------------------


def put(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_load_docs_sorted_skips_index_and_hidden(tmp_path: Path) -> None:
    write_doc(tmp_path, make_doc(category="zeta", slug="b"), today="2026-11-23")
    write_doc(tmp_path, make_doc(category="alpha", slug="a"), today="2026-11-23")
    put(tmp_path, "index.md", "# index\n")
    put(tmp_path, "alpha/.gitkeep", "")
    docs = load_docs(tmp_path)
    assert [p for p, _ in docs] == [Path("alpha/a.md"), Path("zeta/b.md")]
    assert docs[0][1].category == "alpha"
    assert validate_tree(tmp_path) == []


def test_load_docs_missing_root_is_empty(tmp_path: Path) -> None:
    assert load_docs(tmp_path / "nope") == []
    assert validate_tree(tmp_path / "nope") == []


def test_load_docs_strict_and_lenient(tmp_path: Path) -> None:
    write_doc(tmp_path, make_doc(), today="2026-11-23")
    put(tmp_path, "testing/broken.md", "no front matter\n")
    with pytest.raises(DocError, match=r"testing/broken\.md: no YAML front matter"):
        load_docs(tmp_path)
    assert [p for p, _ in load_docs(tmp_path, strict=False)] == [Path("testing/running-tests.md")]


def test_validate_tree_reports_each_problem(tmp_path: Path) -> None:
    write_doc(tmp_path, make_doc(), today="2026-11-23")
    good = render(make_doc())
    put(tmp_path, "index.md", "anything")
    put(tmp_path, "loose.md", good)
    put(tmp_path, "testing/notes.txt", "x")
    put(tmp_path, "testing/deep/x.md", good)
    put(tmp_path, "testing/broken.md", "---\ntitle: T\n")
    put(tmp_path, "testing/Bad_Name.md", good)
    put(tmp_path, "testing/leak.md", good.replace("Use `python", f"Use {TOKEN} `python"))
    problems = validate_tree(tmp_path)
    assert problems == [
        f"{tmp_path}/loose.md: directly in the docs folder: docs live at <category>/<slug>.md",
        f"{tmp_path}/testing/Bad_Name.md: invalid slug 'Bad_Name': use lowercase a-z, 0-9 and '-'",
        f"{tmp_path}/testing/broken.md: unterminated front matter: no closing '---' line",
        f"{tmp_path}/testing/deep/x.md: nested too deep: docs live at <category>/<slug>.md",
        f"{tmp_path}/testing/leak.md: line 18: still contains a secret (github-token): remove it (or redact it)",
        f"{tmp_path}/testing/notes.txt: not a Markdown (.md) file; only learned docs belong here",
    ]
    assert all(TOKEN not in p for p in problems)


# --- index ------------------------------------------------------------------------------------


def build_tree(root: Path) -> None:
    today = "2026-11-23"
    write_doc(root, make_doc(), today=today)
    write_doc(
        root,
        make_doc(
            slug="flaky",
            title="a flaky test",
            read_when=["a test fails only in CI"],
            tripwires=[],
        ),
        today=today,
    )
    write_doc(
        root,
        make_doc(
            category="ci",
            slug="lint",
            title="Lint [ruff]\nand mypy",
            read_when=["nox -s lint fails"],
            tripwires=[Tripwire("pushing without lint", "CI rejects it")],
        ),
        today=today,
    )
    put(root, "testing/broken.md", "no front matter\n")


EXPECTED_INDEX = f"""\
{BANNER}

# Learned docs

Knowledge learned from coding-agent sessions by learn-async, reviewed through pull requests. \
Before a task, read the docs whose "read when" matches it.

## ci

- [Lint \\[ruff\\] and mypy](ci/lint.md) — read when: nox -s lint fails

## testing

- [a flaky test](testing/flaky.md) — read when: a test fails only in CI
- [Running the test suite in this repo](testing/running-tests.md) — read when: running pytest \
here; a test fails with ModuleNotFoundError

## Needs attention

- `testing/broken.md`: no YAML front matter: the file must start with a '---' line
"""


def test_index_golden(tmp_path: Path) -> None:
    build_tree(tmp_path)
    assert regenerate_index(tmp_path) is True
    text = (tmp_path / "index.md").read_text()
    assert text.splitlines()[0] == BANNER
    assert text == EXPECTED_INDEX


def test_index_idempotent_and_deterministic(tmp_path: Path) -> None:
    build_tree(tmp_path / "a")
    build_tree(tmp_path / "b")
    assert regenerate_index(tmp_path / "a") and regenerate_index(tmp_path / "b")
    index = tmp_path / "a" / "index.md"
    os.utime(index, ns=(1_000_000_000, 1_000_000_000))
    before = index.read_bytes()
    assert regenerate_index(tmp_path / "a") is False
    assert index.read_bytes() == before == (tmp_path / "b" / "index.md").read_bytes()
    assert index.stat().st_mtime_ns == 1_000_000_000


def test_index_changes_when_docs_change(tmp_path: Path) -> None:
    build_tree(tmp_path)
    regenerate_index(tmp_path)
    (tmp_path / "testing" / "broken.md").unlink()
    assert regenerate_index(tmp_path) is True
    assert "Needs attention" not in (tmp_path / "index.md").read_text()


def test_index_empty_tree(tmp_path: Path) -> None:
    root = tmp_path / "docs" / "learned"
    assert regenerate_index(root) is True
    text = (root / "index.md").read_text()
    assert text.startswith(BANNER + "\n\n# Learned docs\n")
    assert "_No learned docs yet._" in text
    assert "## Tripwires" not in text and "## Needs attention" not in text
    assert load_docs(root) == [] and validate_tree(root) == []


def test_index_does_not_leak_secrets_from_invalid_docs(tmp_path: Path) -> None:
    put(tmp_path, "ops/leak.md", render(make_doc(title=f"uses {TOKEN}")))
    regenerate_index(tmp_path)
    text = (tmp_path / "index.md").read_text()
    assert TOKEN not in text
    assert "`ops/leak.md`: line 2: still contains a secret (github-token)" in text
