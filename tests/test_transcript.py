"""The reader: defensive, streaming, joins split responses, deduplicates, labels subagents."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learn.errors import TranscriptError, UsageError
from learn.transcripts import reader
from learn.transcripts.files import discover, encode_project_dir, newest_local_session
from learn.transcripts.reader import ReadStats, read_file, read_sessions
from tests.support.transcripts import assistant, tool_result, user, write_jsonl


def read(path: Path, agent: str = "") -> tuple[list, ReadStats]:
    stats = ReadStats()
    return list(read_file(path, stats, set(), agent)), stats


def test_bad_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [user("hello", "u1"), [1, 2], {"type": "brand-new-kind", "uuid": "x"}],
        raw_tail=b"{not json}\n" + b'{"type":"user","uuid":"u9","message":{"content":"trun',
    )
    msgs, stats = read(path)
    assert [m.blocks[0].text for m in msgs] == ["hello"]
    assert stats.skipped == 3  # the list, the bad line, the truncated last line
    assert stats.noise == 1  # the unknown type
    assert any("s.jsonl:5" in e for e in stats.skipped_examples)


def test_empty_file_yields_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    msgs, stats = read(path)
    assert msgs == [] and stats.lines == 0 and stats.skipped == 0


def test_invalid_utf8_is_repaired(tmp_path: Path) -> None:
    line = orjson.dumps(user("caf\u00e9 ok", "u1")).replace("é".encode(), b"\xe9")
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(line + b"\n")
    msgs, stats = read(path)
    assert stats.repaired == 1 and msgs[0].blocks[0].text == "caf\ufffd ok"


def test_string_and_list_content_and_images(tmp_path: Path) -> None:
    image = {"type": "image", "source": {"type": "base64", "data": "A" * 5000}}
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [
            user("plain", "u1"),
            user([{"type": "text", "text": "listed"}, image], "u2"),
            tool_result("t1", [{"type": "text", "text": "out"}, image], "u3"),
        ],
    )
    msgs, _ = read(path)
    assert [b.kind for b in msgs[1].blocks] == ["text", "image"]
    result = msgs[2].blocks[0]
    assert (result.kind, result.text, result.images) == ("tool_result", "out", 1)


def test_split_assistant_response_is_joined_around_tool_results(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [
            user("go", "u1"),
            assistant(
                {"type": "text", "text": "two calls"}, "a1", "msg_1", usage={"output_tokens": 5}
            ),
            assistant({"type": "tool_use", "id": "t1", "name": "Read", "input": {}}, "a2", "msg_1"),
            tool_result("t1", "file body", "u2"),
            assistant(
                {"type": "tool_use", "id": "t2", "name": "Grep", "input": {}},
                "a3",
                "msg_1",
                usage={"output_tokens": 9},
            ),
            tool_result("t2", "matches", "u3"),
            assistant({"type": "text", "text": "done"}, "a4", "msg_2"),
        ],
    )
    msgs, _ = read(path)
    roles = [(m.role, [b.kind for b in m.blocks]) for m in msgs]
    assert roles == [
        ("user", ["text"]),
        ("assistant", ["text", "tool_use", "tool_use"]),
        ("user", ["tool_result"]),
        ("user", ["tool_result"]),
        ("assistant", ["text"]),
    ]


def test_noise_and_uninteresting_system_lines_are_dropped(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"type": "file-history-snapshot", "snapshot": {"a.py": "SECRET=1"}},
            {"type": "progress", "data": {"type": "hook_progress"}},
            {"type": "system", "subtype": "turn_duration", "uuid": "s0"},
            {
                "type": "system",
                "subtype": "compact_boundary",
                "uuid": "s1",
                "compactMetadata": {"trigger": "auto", "preTokens": 155000},
            },
            {"type": "summary", "summary": "Fixing the build", "leafUuid": "x"},
        ],
    )
    msgs, stats = read(path)
    assert [(m.role, m.subtype) for m in msgs] == [("system", "compact_boundary"), ("summary", "")]
    assert "155000" in msgs[0].blocks[0].text
    assert stats.noise == 3


def test_duplicate_uuids_across_files_are_read_once(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [user("one", "u1"), user("two", "u2")])
    b = write_jsonl(tmp_path / "b.jsonl", [user("two", "u2"), user("three", "u3")])
    stats = ReadStats()
    texts = [m.blocks[0].text for m in read_sessions([(a, ""), (b, "")], stats)]
    assert texts == ["one", "two", "three"] and stats.duplicates == 1


def test_inline_sidechain_is_labelled(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "s.jsonl", [user("explore", "u1", isSidechain=True)])
    msgs, _ = read(path)
    assert msgs[0].agent == "sidechain"


def test_warmup_sidechain_dropped_and_aside_question_replays_deduplicated(tmp_path: Path) -> None:
    main = write_jsonl(tmp_path / "main.jsonl", [user("fix the bug", "u1")])
    warm = write_jsonl(tmp_path / "agent-1.jsonl", [user("Warmup", "w1"), user("more", "w2")])
    aside = write_jsonl(
        tmp_path / "agent-2.jsonl", [user("fix the bug", "r1"), user("new q", "r2")]
    )
    texts = [
        (m.agent, m.blocks[0].text)
        for m in read_sessions(
            [(main, ""), (warm, "subagent agent-1"), (aside, "subagent agent-2 (aside_question)")]
        )
    ]
    assert texts == [("", "fix the bug"), ("subagent agent-2 (aside_question)", "new q")]


def test_discover_finds_all_three_subagent_layouts(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    main = write_jsonl(project / "sess-1.jsonl", [user("hi", "u1") | {"sessionId": "sess-1"}])
    write_jsonl(project / "agent-ab12.jsonl", [user("sub", "u2") | {"sessionId": "sess-1"}])
    write_jsonl(project / "agent-other.jsonl", [user("x", "u3") | {"sessionId": "someone-else"}])
    nested = write_jsonl(project / "sess-1" / "subagents" / "agent-cd34.jsonl", [user("n", "u4")])
    nested.with_name("agent-cd34.meta.json").write_text(
        '{"agentType": "Explore", "description": "find"}'
    )

    from_file = discover([main])
    assert [(f.path.name, f.agent) for f in from_file] == [
        ("sess-1.jsonl", ""),
        ("agent-cd34.jsonl", "subagent agent-cd34 (Explore, find)"),
        ("agent-ab12.jsonl", "subagent agent-ab12"),
    ]
    from_dir = discover([project])
    assert from_dir[0].is_main and {f.path.name for f in from_dir} == {
        "sess-1.jsonl",
        "agent-ab12.jsonl",
        "agent-other.jsonl",
        "agent-cd34.jsonl",
    }


@pytest.mark.parametrize("inodes", [True, False], ids=["inodes", "no-inodes"])
def test_discover_lists_a_file_once_however_it_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inodes: bool
) -> None:
    project = tmp_path / "proj"
    main = write_jsonl(project / "sess-1.jsonl", [user("hi", "u1")])
    write_jsonl(project / "agent-ab12.jsonl", [user("sub", "u2")])
    link = tmp_path / "link.jsonl"
    link.symlink_to(main)
    if not inodes:  # a file system without inode numbers (FAT): told apart by resolved path
        stat = Path.stat
        monkeypatch.setattr(
            Path,
            "stat",
            lambda self, **kw: SimpleNamespace(st_dev=0, st_ino=0, **_sizes(stat(self))),
        )
    again = project / ".." / "proj" / "sess-1.jsonl"
    found = discover([main, again, link, project])
    assert [(f.path.name, f.agent) for f in found] == [
        ("sess-1.jsonl", ""),
        ("agent-ab12.jsonl", "subagent agent-ab12"),
    ]
    broken = main.with_suffix("") / "subagents" / "agent-gone.jsonl"  # listed; the reader says
    broken.parent.mkdir(parents=True)
    broken.symlink_to(tmp_path / "nowhere.jsonl")
    assert [f.path.name for f in discover([main])][-1] == "agent-gone.jsonl"


def _sizes(st: os.stat_result) -> dict[str, int]:
    return {"st_size": st.st_size, "st_mtime": int(st.st_mtime), "st_mode": st.st_mode}


def test_discover_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="session path not found"):
        discover([tmp_path / "nope.jsonl"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(TranscriptError, match=r"no \.jsonl transcript"):
        discover([tmp_path / "empty"])


def test_newest_local_session(tmp_path: Path) -> None:
    repo = tmp_path / "my.repo"
    repo.mkdir()
    project = tmp_path / "claude" / "projects" / encode_project_dir(repo.resolve())[1]
    old = write_jsonl(project / "old.jsonl", [user("a", "1")])
    new = write_jsonl(project / "new.jsonl", [user("b", "2")])
    import os

    os.utime(old, (1, 1))
    assert newest_local_session(repo, tmp_path / "claude") == new
    assert encode_project_dir(Path("/home/me/my.repo_x")) == [
        "-home-me-my-repo-x",
        "-home-me-my-repo_x",
    ]
    with pytest.raises(TranscriptError, match="no local Claude Code session"):
        newest_local_session(tmp_path, tmp_path / "claude")


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.lists(
        st.binary(max_size=200) | st.just(b'{"type":"user","message":{"content":'), max_size=20
    )
)
def test_reader_never_raises_on_arbitrary_bytes(tmp_path: Path, data: list[bytes]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(data))
    stats = ReadStats()
    list(read_file(path, stats, set()))
    assert stats.kept + stats.noise + stats.skipped + stats.duplicates == stats.lines


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(
        st.dictionaries(
            st.sampled_from(
                ["type", "message", "uuid", "isMeta", "subtype", "summary", "toolUseResult"]
            ),
            st.recursive(
                st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
                lambda kids: (
                    st.lists(kids, max_size=3)
                    | st.dictionaries(
                        st.sampled_from(
                            [
                                "type",
                                "content",
                                "text",
                                "id",
                                "name",
                                "input",
                                "tool_use_id",
                                "is_error",
                            ]
                        ),
                        kids,
                        max_size=4,
                    )
                ),
                max_leaves=12,
            ),
            max_size=6,
        ),
        max_size=10,
    )
)
def test_reader_never_raises_on_odd_shapes(tmp_path: Path, entries: list[dict]) -> None:
    for entry in entries:
        if "type" in entry and entry["type"] is not None:
            entry["type"] = ["user", "assistant", "system", "summary"][len(str(entry["type"])) % 4]
    path = write_jsonl(tmp_path / "shapes.jsonl", entries)
    list(read_file(path, ReadStats(), set()))


# --- the typed path and the dict path ---------------------------------------------------------

_scalar = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8)
_text = st.text(max_size=8)


def _mostly(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """``strategy`` or null, now and then any scalar (an odd shape)."""
    return st.integers(0, 19).flatmap(
        lambda i: _scalar if i == 7 else st.none() if i == 8 else strategy
    )


_item = st.text(max_size=6) | st.fixed_dictionaries(
    {},
    optional={"type": _mostly(st.sampled_from(["text", "image"])), "text": _mostly(_text)},
)
_block = _mostly(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "thinking", "tool_use", "tool_result", "image", "x"])},
        optional={
            "text": _mostly(_text),
            "thinking": _mostly(_text),
            "signature": _text,
            "name": _mostly(_text),
            "input": _mostly(st.dictionaries(st.text(max_size=4), _scalar, max_size=3)),
            "id": _mostly(_text),
            "tool_use_id": _mostly(_text),
            "is_error": _mostly(st.booleans()),
            "content": _mostly(st.lists(_item, max_size=3) | _text),
            "source": st.fixed_dictionaries({"data": _text}),
        },
    )
)
_body = _mostly(
    st.fixed_dictionaries(
        {},
        optional={
            "id": _mostly(_text),
            "model": _mostly(st.sampled_from(["claude-x", "<synthetic>", ""])),
            "content": _mostly(st.lists(_block, max_size=4) | _text),
            "usage": _mostly(st.dictionaries(st.text(max_size=4), st.integers(0, 9), max_size=2)),
            "role": _text,
        },
    )
)
_line = st.fixed_dictionaries(
    {"type": _mostly(st.sampled_from(["user", "assistant", "summary", "system", "progress"]))},
    optional={
        "uuid": _mostly(_text),
        "sessionId": _mostly(_text),
        "timestamp": _mostly(_text),
        "cwd": _mostly(_text),
        "isSidechain": _mostly(st.booleans()),
        "isMeta": _mostly(st.booleans()),
        "isCompactSummary": _mostly(st.booleans()),
        "isApiErrorMessage": _mostly(st.booleans()),
        "message": _body,
        "subtype": _mostly(st.sampled_from(["turn_duration", "compact_boundary", "api_error"])),
        "summary": _mostly(_text),
        "toolUseResult": st.dictionaries(st.text(max_size=4), _scalar, max_size=3) | _scalar,
    },
)


@settings(max_examples=300, deadline=None)
@given(entry=_line, agent=st.sampled_from(["", "subagent agent-1"]))
def test_typed_path_reads_what_the_dict_path_reads(entry: dict, agent: str) -> None:
    """Whenever a line fits the Structs, the typed path builds exactly the dict path's message."""
    line = orjson.dumps(entry)
    typed = reader._decode_typed(line)
    if typed is not None:
        assert reader._typed_message(typed, agent) == reader._message(orjson.loads(line), agent)


def test_common_lines_take_the_typed_path() -> None:
    lines = [
        user("hello", "u1"),
        user([{"type": "text", "text": "listed"}, {"type": "image", "source": {}}], "u2"),
        tool_result("t1", [{"type": "text", "text": "out"}], "u3", is_error=True),
        assistant({"type": "tool_use", "id": "t1", "name": "Bash", "input": {"n": 1}}, "a", "m"),
        assistant({"type": "thinking", "thinking": "", "signature": "x" * 40}, "a2", "m"),
        {"type": "progress", "uuid": "p1", "data": {"type": "hook_progress", "big": [1] * 50}},
        {"type": "summary", "summary": "Fixing the build", "leafUuid": "x"},
        {"type": "system", "subtype": "turn_duration", "durationMs": 5},
    ]
    for entry in lines:
        assert reader._decode_typed(orjson.dumps(entry)) is not None, entry
    kept_system = {"type": "system", "subtype": "api_error", "error": {"status": 500}}
    assert reader._decode_typed(orjson.dumps(kept_system)) is None  # read by the dict path


def test_lines_the_dict_path_rejects_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(
        b'{"type":"user","uuid":"u1","message":{"content":"a"}}{"type":"user","uuid":"u2"}\n'
        b'{"type":"user","uuid":"u3","message":{"content":"\\ud800"}}\n'
        b'{"type":"user","uuid":"u4","message":{"content":"kept"}}\n'
    )
    msgs, stats = read(path)
    assert [m.uuid for m in msgs] == ["u4"] and stats.skipped == 2


def test_invalid_utf8_in_a_field_not_read_is_still_repaired_and_counted(tmp_path: Path) -> None:
    line = orjson.dumps(user("ok", "u1", toolUseResult={"stdout": "caf\u00e9"}))
    path = tmp_path / "s.jsonl"
    path.write_bytes(line.replace("é".encode(), b"\xe9") + b"\n")
    msgs, stats = read(path)
    assert stats.repaired == 1 and msgs[0].blocks[0].text == "ok"


@pytest.mark.parametrize("block", [1, 7, 64, 1000])
def test_block_boundaries_do_not_change_what_is_read(
    tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_text = "x" * 300
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [user("first", "u1"), user(long_text, "u2"), user("caf\u00e9", "u3")],
        raw_tail=b"\n   \n"
        + orjson.dumps(user("crlf", "u4"))
        + b"\r\n{not json}\n"
        + b'{"type":"user","uuid":"u5","message":{"content":"trun',
    )
    expected = read(path)
    monkeypatch.setattr(reader, "_BLOCK", block)
    msgs, stats = read(path)
    assert msgs == expected[0] and stats == expected[1]
    assert [m.blocks[0].text for m in msgs] == ["first", long_text, "caf\u00e9", "crlf"]
    assert stats.bytes_in == path.stat().st_size and stats.skipped == 2
    assert [e.split(":")[1] for e in stats.skipped_examples] == ["7", "8"]


def test_a_number_out_of_range_in_a_field_not_read_no_longer_loses_the_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(
        orjson.dumps(user("kept", "u1")).replace(b'"uuid"', b'"toolUseResult":{"x":1e400},"uuid"')
        + b"\n"
    )
    msgs, stats = read(path)
    assert [m.blocks[0].text for m in msgs] == ["kept"] and stats.skipped == 0
