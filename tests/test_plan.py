"""The plan-header metadata block: tolerant parsing, minimal-diff updates, the typed view."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learn.errors import LearnError, UsageError
from learn.plan_header import (
    ALREADY_LEARNED,
    COMPLETED_NO_CHANGES,
    FAILED,
    NOT_STARTED,
    PENDING,
    PENDING_REVIEW,
    ArtifactRef,
    PlanHeader,
    find_header,
    is_already_learned,
    is_learnable,
    parse_issue_number,
    read_header,
    render_entry,
    require_header,
    session_sources,
    update_header,
)

YAML = """\
schema_version: '2'
created_at: '2026-01-20T10:00:00Z'
created_by: someone
last_remote_impl_run_id: '21202876864'
last_remote_impl_session_id: 5f0c1d2e-aaaa-bbbb-cccc-000000000001
learn_status: not_started
"""

FIELDS = {
    "schema_version": "2",
    "created_at": "2026-01-20T10:00:00Z",
    "created_by": "someone",
    "last_remote_impl_run_id": "21202876864",
    "last_remote_impl_session_id": "5f0c1d2e-aaaa-bbbb-cccc-000000000001",
    "learn_status": "not_started",
}


def block(
    yaml_text: str = YAML,
    *,
    key: str = "plan-header",
    code: bool = True,
    close_key: bool = True,
    fence: str = "```yaml",
    nl: str = "\n",
) -> str:
    summary = f"<code>{key}</code>" if code else key
    closing = f"<!-- /erk:metadata-block:{key} -->" if close_key else "<!-- /erk:metadata-block -->"
    text = (
        f"<!-- erk:metadata-block:{key} -->\n<details>\n<summary>{summary}</summary>\n\n"
        f"{fence}\n{yaml_text}```\n\n</details>\n{closing}"
    )
    return text.replace("\n", nl)


OTHER = block("kind: other\nlearn_status: should-not-be-read\n", key="plan-body", close_key=False)
BODY = "# Plan: do things\n\nSome intro.\n\n" + block() + "\n\n## Steps\n\n1. a\n2. b\n"


def outside(body: str) -> tuple[str, str]:
    """The text before and after the YAML of the plan-header block."""
    hb = find_header(body)
    assert hb is not None
    return body[: hb.yaml_start], body[hb.yaml_end :]


def yaml_lines(body: str) -> list[str]:
    hb = find_header(body)
    assert hb is not None
    return hb.yaml_text.splitlines()


def changed_lines(old: str, new: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(yaml_lines(old), yaml_lines(new), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


# -- parsing ------------------------------------------------------------------------------------


def test_reads_the_canonical_block() -> None:
    assert read_header(BODY) == FIELDS
    hb = find_header(BODY)
    assert hb is not None
    assert BODY[hb.yaml_start : hb.yaml_end] == YAML == hb.yaml_text
    assert BODY[hb.start :].startswith("<!-- erk:metadata-block:plan-header -->")
    assert BODY[: hb.end].endswith("<!-- /erk:metadata-block:plan-header -->")
    assert hb.newline == "\n"


@pytest.mark.parametrize("code", [True, False])
@pytest.mark.parametrize("close_key", [True, False])
@pytest.mark.parametrize("fence", ["```yaml", "```", "``` yaml  ", "```YAML", "````yaml"])
def test_tolerant_variants(code: bool, close_key: bool, fence: str) -> None:
    closing_fence_fix = block(code=code, close_key=close_key, fence=fence)
    if fence.startswith("````"):
        closing_fence_fix = closing_fence_fix.replace("\n```\n", "\n````\n")
    body = "intro\n" + closing_fence_fix + "\noutro\n"
    assert read_header(body) == FIELDS


def test_crlf_body() -> None:
    body = ("intro\n\n" + block() + "\n\noutro\n").replace("\n", "\r\n")
    assert read_header(body) == FIELDS
    hb = find_header(body)
    assert hb is not None and hb.newline == "\r\n"


def test_whitespace_variations_in_markers() -> None:
    body = (
        "<!--erk:metadata-block:plan-header-->\n<details>\n<summary> <code>plan-header</code> "
        "</summary>\n\n  ```yaml  \nlearn_status: failed\n  ```\n</details>\n"
        "<!--  /erk:metadata-block:plan-header  -->\n"
    )
    assert read_header(body) == {"learn_status": "failed"}


def test_other_blocks_before_and_after_are_ignored() -> None:
    body = OTHER + "\n\ntext\n\n" + block() + "\n\n" + OTHER.replace("plan-body", "plan-footer")
    assert read_header(body) == FIELDS


def test_a_longer_key_is_not_the_plan_header() -> None:
    body = block("learn_status: failed\n", key="plan-header-extra") + "\n" + block()
    assert read_header(body) == FIELDS


def test_no_block() -> None:
    assert find_header("just an issue\n") is None
    assert read_header("just an issue\n") is None
    assert read_header(OTHER) is None
    with pytest.raises(UsageError, match="not a plan"):
        require_header(OTHER)
    with pytest.raises(UsageError, match="not a plan"):
        PlanHeader.from_body("nothing here")


def test_empty_yaml_is_an_empty_mapping() -> None:
    assert read_header(block("")) == {}
    assert read_header(block("# only a comment\n")) == {}


def test_invalid_yaml_is_a_one_line_error() -> None:
    with pytest.raises(LearnError) as info:
        read_header(block("learn_status: [unclosed\nother: 1\n"))
    message = str(info.value)
    assert "not valid YAML" in message and "line" in message
    assert "\n" not in message
    assert not isinstance(info.value, UsageError)


def test_yaml_list_is_not_a_mapping() -> None:
    with pytest.raises(LearnError, match=r"not a YAML mapping \(it is a list\)") as info:
        read_header(block("- a\n- b\n"))
    assert "\n" not in str(info.value)
    with pytest.raises(LearnError, match="it is a string"):
        read_header(block("just text\n"))


def test_block_without_fence_or_unclosed_fence() -> None:
    no_fence = (
        "<!-- erk:metadata-block:plan-header -->\nlearn_status: x\n<!-- /erk:metadata-block -->"
    )
    with pytest.raises(LearnError, match="no ```yaml fence"):
        read_header(no_fence)
    unclosed = "<!-- erk:metadata-block:plan-header -->\n```yaml\nlearn_status: x\n"
    with pytest.raises(LearnError, match="never closed"):
        read_header(unclosed)


def test_closing_marker_may_be_missing() -> None:
    body = block().replace("<!-- /erk:metadata-block:plan-header -->", "") + "\n" + OTHER
    assert read_header(body) == FIELDS


# -- update -------------------------------------------------------------------------------------


def test_update_existing_key_is_a_one_line_diff_in_place() -> None:
    new = update_header(BODY, {"learn_status": "pending"})
    assert changed_lines(BODY, new) == ["-learn_status: not_started", "+learn_status: pending"]
    assert outside(new) == outside(BODY)
    assert new == BODY.replace("learn_status: not_started", "learn_status: pending")
    assert read_header(new) == FIELDS | {"learn_status": "pending"}


def test_update_middle_key_keeps_position() -> None:
    new = update_header(BODY, {"created_by": "other"})
    lines = yaml_lines(new)
    assert lines[2] == "created_by: other"
    assert len(changed_lines(BODY, new)) == 2


def test_new_keys_are_appended() -> None:
    new = update_header(BODY, {"learn_run_id": "123", "learn_pr": 45})
    assert yaml_lines(new) == [*YAML.splitlines(), "learn_run_id: '123'", "learn_pr: 45"]
    assert outside(new) == outside(BODY)


def test_none_removes_the_key_line() -> None:
    new = update_header(BODY, {"created_by": None, "absent": None})
    assert changed_lines(BODY, new) == ["-created_by: someone"]
    expected = dict(FIELDS)
    del expected["created_by"]
    assert read_header(new) == expected


def test_multiline_values_are_replaced_as_a_whole() -> None:
    yaml_text = (
        "a: 1\n"
        "session_artifacts:\n"
        "  - run_id: 1\n"
        "    name: session-x\n"
        "  - run_id: '2'\n"
        "    name: session-y   # trailing comment\n"
        "# a comment about note\n"
        "note: |\n"
        "  line one\n"
        "  line two\n"
        "\n"
        "z: last\n"
    )
    body = "before\n" + block(yaml_text) + "\nafter"
    new = update_header(body, {"session_artifacts": "gone", "note": None})
    assert yaml_lines(new) == [
        "a: 1",
        "session_artifacts: gone",
        "# a comment about note",
        "",
        "z: last",
    ]
    assert outside(new) == outside(body)

    back = update_header(new, {"session_artifacts": [{"run_id": "9", "name": "session-z"}]})
    assert read_header(back) == {
        "a": 1,
        "session_artifacts": [{"run_id": "9", "name": "session-z"}],
        "z": "last",
    }
    assert yaml_lines(back)[1:4] == ["session_artifacts:", "- run_id: '9'", "  name: session-z"]


def test_unknown_fields_and_comments_are_preserved() -> None:
    yaml_text = YAML + "# a human note\nextra:\n  nested: [1, 2]\nweird key: 'x'\n"
    body = block(yaml_text)
    new = update_header(body, {"learn_status": FAILED, "learn_error": "boom: it broke"})
    fields = read_header(new)
    assert fields is not None
    assert fields["extra"] == {"nested": [1, 2]} and fields["weird key"] == "x"
    assert "# a human note" in yaml_lines(new)
    assert fields["learn_error"] == "boom: it broke"


def test_other_blocks_are_untouched() -> None:
    body = OTHER + "\n" + block() + "\n" + OTHER
    new = update_header(body, {"learn_status": "pending", "learn_branch": "learn/x"})
    assert new.startswith(OTHER + "\n") and new.endswith("\n" + OTHER)
    assert outside(new) == outside(body)


def test_no_plan_header_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not a plan"):
        update_header("plain issue body", {"learn_status": "pending"})
    with pytest.raises(UsageError):
        update_header(OTHER, {"learn_status": "pending"})


def test_invalid_yaml_cannot_be_updated() -> None:
    with pytest.raises(LearnError, match="not valid YAML"):
        update_header(block("a: [\n"), {"learn_status": "pending"})


def test_many_updates_never_duplicate_markers() -> None:
    body = "x\n" + OTHER + "\n" + block(close_key=False) + "\ny\n"
    for i in range(20):
        body = update_header(
            body,
            {
                "learn_status": [PENDING, FAILED, PENDING_REVIEW][i % 3],
                "learn_run_id": str(1000 + i),
                "learn_error": None if i % 2 else f"error {i}",
            },
        )
    assert body.count("<!-- erk:metadata-block:plan-header -->") == 1
    assert body.count("<!-- /erk:metadata-block -->") == 2  # ours and the other block's
    assert body.count("```yaml") == 2 and body.count("<details>") == 2
    fields = read_header(body)
    assert fields is not None
    assert fields["learn_run_id"] == "1019" and "learn_error" not in fields
    assert sum(line.startswith("learn_status:") for line in yaml_lines(body)) == 1


def test_crlf_updates_keep_crlf() -> None:
    body = ("intro\n\n" + block() + "\n\noutro\n").replace("\n", "\r\n")
    new = update_header(
        body, {"learn_status": "pending", "learn_pr": 7, "x": ["a", "b"], "created_by": None}
    )
    assert outside(new) == outside(body)
    assert re.search(r"(?<!\r)\n", new) is None  # no bare LF anywhere
    fields = read_header(new)
    assert fields is not None and fields["learn_status"] == "pending" and fields["x"] == ["a", "b"]


def test_values_are_safely_quoted() -> None:
    tricky = {
        "learn_run_id": "0012",
        "learn_branch": "yes",
        "learn_error": "null",
        "a": "key: value # not a comment",
        "b": "'quoted' \"both\"",
        "c": "multi\nline\n```\n<!-- /erk:metadata-block -->",
        "d": "ünïcødé ✓",
        "e": True,
        "f": 0,
        "g": "",
        "h": "~",
    }
    new = update_header(BODY, tricky)
    assert read_header(new) == FIELDS | tricky
    assert render_entry("learn_run_id", "0012") == "learn_run_id: '0012'"
    assert "\n" not in render_entry("c", tricky["c"])  # line breaks are escaped


def test_duplicate_keys_collapse_to_one() -> None:
    body = block("learn_status: a\nx: 1\nlearn_status: b\n")
    new = update_header(body, {"learn_status": "pending"})
    assert yaml_lines(new) == ["learn_status: pending", "x: 1"]


def test_explicit_keys_are_edited_in_place() -> None:
    body = block("# keep\na: 1\n")
    once = update_header(body, {"": [], "k" * 130: "long key"})  # both dumped as "? key"
    assert "? ''" in find_header(once).yaml_text  # type: ignore[union-attr]
    assert update_header(once, {"": [], "k" * 130: "long key"}) == once
    twice = update_header(once, {"": None, "a": 2})
    assert yaml_lines(twice)[:2] == ["# keep", "a: 2"]
    assert read_header(twice) == {"a": 2, "k" * 130: "long key"}


def test_flow_mapping_falls_back_to_a_full_rewrite() -> None:
    body = "pre\n" + block("{a: 1, b: two}\n") + "\npost"
    new = update_header(body, {"b": None, "c": "3"})
    assert read_header(new) == {"a": 1, "c": "3"}
    assert outside(new) == outside(body)


def test_unrepresentable_value_is_an_error() -> None:
    with pytest.raises(LearnError):
        update_header(BODY, {"learn_error": object()})
    with pytest.raises(LearnError):
        update_header(BODY, {1: "x"})  # type: ignore[dict-item]


# -- typed view ---------------------------------------------------------------------------------


def test_plan_header_typed_view() -> None:
    h = PlanHeader.from_body(BODY)
    assert h.schema_version == "2"
    assert h.learn_status == NOT_STARTED
    assert h.last_remote_impl_run_id == "21202876864"
    assert h.last_remote_impl_session_id == "5f0c1d2e-aaaa-bbbb-cccc-000000000001"
    assert h.session_artifacts == ()
    assert h.learn_run_id is None and h.learn_pr is None and h.learn_error is None
    assert h.raw == FIELDS
    assert not h.already_learned


def test_plan_header_normalizes_yaml_types() -> None:
    h = PlanHeader.from_dict(
        {
            "schema_version": 2,
            "last_remote_impl_run_id": 21202876864,
            "learn_pr": "https://github.com/o/r/pull/77",
            "last_learn_at": datetime(2026, 1, 20, 10, 0, tzinfo=UTC),
            "learn_status": "Pending_Review ",
        }
    )
    assert h.schema_version == "2"
    assert h.last_remote_impl_run_id == "21202876864"
    assert h.learn_pr == 77
    assert h.last_learn_at == "2026-01-20T10:00:00+00:00"
    assert h.learn_status == PENDING_REVIEW and h.already_learned
    assert PlanHeader.from_dict({}).learn_status == NOT_STARTED
    assert PlanHeader.from_dict({"learn_pr": "#5"}).learn_pr == 5
    assert PlanHeader.from_dict({"learn_status": None}).learn_status == NOT_STARTED


@pytest.mark.parametrize(
    ("artifacts", "message"),
    [
        ("session-x", "must be a list"),
        (["session-x"], "item 1 must be a {run_id, name} mapping"),
        ([{"run_id": 1}], "item 1 has no name"),
        ([{"name": "a"}, {}], "item 1 has no run_id"),
        ([{"run_id": 1, "name": ""}], "name must be"),
        ([{"run_id": True, "name": "a"}], "run_id must be"),
        ([{"run_id": [1], "name": "a"}], "run_id must be"),
    ],
)
def test_session_artifacts_shape_is_validated(artifacts: object, message: str) -> None:
    with pytest.raises(LearnError, match=re.escape(message)):
        PlanHeader.from_dict({"session_artifacts": artifacts})


def test_string_fields_reject_collections() -> None:
    with pytest.raises(LearnError, match="last_remote_impl_run_id must be a string"):
        PlanHeader.from_dict({"last_remote_impl_run_id": [1, 2]})


# -- session sources ----------------------------------------------------------------------------


def test_session_sources_from_last_remote_impl() -> None:
    assert session_sources(PlanHeader.from_body(BODY)) == [
        ArtifactRef("21202876864", "session-5f0c1d2e-aaaa-bbbb-cccc-000000000001")
    ]


def test_session_sources_int_run_id_from_yaml() -> None:
    fields = read_header(block("last_remote_impl_run_id: 42\nlast_remote_impl_session_id: abc\n"))
    assert fields is not None and fields["last_remote_impl_run_id"] == 42
    assert session_sources(fields) == [ArtifactRef("42", "session-abc")]


def test_session_sources_prefers_session_artifacts_deduplicated() -> None:
    fields = {
        "last_remote_impl_run_id": "1",
        "last_remote_impl_session_id": "ignored",
        "session_artifacts": [
            {"run_id": 10, "name": "session-a"},
            {"run_id": "11", "name": "session-b"},
            {"run_id": "10", "name": "session-a"},  # same as the first once normalized
            {"run_id": 12, "name": "session-a"},
        ],
    }
    assert session_sources(fields) == [
        ArtifactRef("10", "session-a"),
        ArtifactRef("11", "session-b"),
        ArtifactRef("12", "session-a"),
    ]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"last_remote_impl_run_id": "1"},
        {"last_remote_impl_session_id": "abc"},
        {"last_remote_impl_run_id": "", "last_remote_impl_session_id": "abc"},
        {"last_remote_impl_run_id": None, "last_remote_impl_session_id": None},
        {"session_artifacts": []},
    ],
)
def test_session_sources_missing_fields(fields: dict[str, object]) -> None:
    assert session_sources(fields) == []


def test_empty_session_artifacts_falls_back() -> None:
    fields = {
        "session_artifacts": [],
        "last_remote_impl_run_id": 5,
        "last_remote_impl_session_id": "s",
    }
    assert session_sources(fields) == [ArtifactRef("5", "session-s")]


# -- status -------------------------------------------------------------------------------------


def test_status_constants_and_helpers() -> None:
    assert (NOT_STARTED, PENDING, PENDING_REVIEW, COMPLETED_NO_CHANGES, FAILED) == (
        "not_started",
        "pending",
        "pending_review",
        "completed_no_changes",
        "failed",
    )
    assert {
        "pending_review",
        "completed_no_changes",
        "completed",
        "completed_no_plan",
        "completed_with_plan",
        "plan_completed",
    } == ALREADY_LEARNED
    for status in ALREADY_LEARNED:
        assert is_already_learned(status) and not is_learnable(status)
    for other in (None, "", NOT_STARTED, PENDING, FAILED, "something_new"):
        assert not is_already_learned(other) and is_learnable(other)
    assert is_already_learned(" Completed ")


# -- issue numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "number"), [("12", 12), (" 12 ", 12), ("#12", 12), (7, 7)])
def test_parse_issue_number_accepts(value: str | int, number: int) -> None:
    assert parse_issue_number(value) == number


@pytest.mark.parametrize(
    "value", ["abc", "", " ", "0", "-3", "12.0", "1e3", "#", "# 12", "12a", "١٢", 0, -1, True, 12.0]
)
def test_parse_issue_number_rejects(value: object) -> None:
    with pytest.raises(UsageError, match="issue number must be a positive whole number, not"):
        parse_issue_number(value)  # type: ignore[arg-type]


def test_parse_issue_number_message() -> None:
    with pytest.raises(UsageError) as info:
        parse_issue_number("abc")
    assert str(info.value) == "issue number must be a positive whole number, not 'abc'"


# -- properties ---------------------------------------------------------------------------------

_MARKER = re.compile(r"erk:metadata-block", re.I)

surrounding = st.text(max_size=60).filter(lambda s: not _MARKER.search(s))
REALISTIC_KEYS = [
    "schema_version",
    "created_at",
    "last_remote_impl_run_id",
    "last_remote_impl_session_id",
    "session_artifacts",
    "learn_status",
    "learn_run_id",
    "learn_branch",
    "learn_pr",
    "last_learn_at",
    "learn_error",
    "extra",
]
keys = st.one_of(
    st.sampled_from(REALISTIC_KEYS),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,10}", fullmatch=True),
)
tricky_strings = st.sampled_from(
    [
        "0012",
        "yes",
        "no",
        "on",
        "null",
        "Null",
        "~",
        "true",
        "1.5",
        "1e3",
        "0x1F",
        "2026-01-20",
        "2026-01-20T10:00:00Z",
        "a: b",
        "#hash",
        "- item",
        "'single'",
        '"double"',
        "it's",
        "  padded  ",
        "",
        "ünïcødé ✓ 🚀",
        "```",
        "multi\nline",
        "<!-- /erk:metadata-block -->",
        "[1, 2]",
        "{a: 1}",
        "*alias",
        "&anchor",
        "!tag",
        "@at",
        "%pct",
        "|",
        ">",
        "...",
        "---",
    ]
)
values = st.one_of(
    st.none(),
    tricky_strings,
    st.text(max_size=20),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.booleans(),
)
updates_st = st.dictionaries(keys, values, max_size=6)

BASE_YAMLS = [
    YAML,
    "",
    "# just a comment\n",
    YAML + "extra:\n  - 1\n  - 2\n# trailing comment\nnote: |\n  text\n\n",
    "learn_status: pending\r\nlast_remote_impl_run_id: 12\r\n",
    "  indented: 1\n  learn_status: x\n",
]


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, str, str]:
    prefix = draw(surrounding)
    suffix = draw(surrounding)
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    yaml_text = draw(st.sampled_from(BASE_YAMLS)).replace("\r\n", "\n")  # block() applies nl
    hb = block(
        yaml_text,
        code=draw(st.booleans()),
        close_key=draw(st.booleans()),
        fence=draw(st.sampled_from(["```yaml", "```"])),
        nl=nl,
    )
    extra = draw(st.sampled_from(["", OTHER + "\n"]))
    return prefix + extra, hb, suffix


PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(bodies(), updates_st)
def test_property_update_round_trips(parts: tuple[str, str, str], updates: dict) -> None:
    prefix, header_block, suffix = parts
    body = prefix + header_block + suffix
    old = read_header(body)
    assert old is not None
    new = update_header(body, updates)
    expected = {k: v for k, v in {**old, **updates}.items() if v is not None}
    assert read_header(new) == expected
    assert outside(new) == outside(body)
    assert new.startswith(prefix) and new.endswith(suffix)
    assert new.count("erk:metadata-block") == body.count("erk:metadata-block") or any(
        isinstance(v, str) and "erk:metadata-block" in v for v in updates.values()
    )


@PROPS
@given(bodies(), updates_st)
def test_property_update_is_idempotent(parts: tuple[str, str, str], updates: dict) -> None:
    body = "".join(parts)
    once = update_header(body, updates)
    assert update_header(once, updates) == once


@PROPS
@given(st.dictionaries(st.sampled_from(REALISTIC_KEYS), tricky_strings | st.integers(), min_size=1))
def test_property_existing_single_line_keys_change_in_place(updates: dict) -> None:
    base = {k: "v" for k in REALISTIC_KEYS}
    body = block(yaml.safe_dump(base, sort_keys=False))
    new = update_header(body, updates)
    old_lines, new_lines = yaml_lines(body), yaml_lines(new)
    assert len(old_lines) == len(new_lines)  # every edit is a one-line replacement in place
    for old_line, new_line in zip(old_lines, new_lines, strict=True):
        key = old_line.split(":", 1)[0]
        if key in updates:
            assert new_line == render_entry(key, updates[key])
        else:
            assert new_line == old_line
