"""learn.ahead: what the reader's process does for the digest changes nothing the digest writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from learn.ahead import Ahead, lines_read
from learn.digest import DigestOptions, _ahead, _EventBuilder
from learn.transcripts.reader import Message, read_sessions
from tests.support.transcripts import assistant, tool_result, user, write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def _call(tool_id: str, name: str, uuid: str, **extra: object) -> dict[str, object]:
    block = {"type": "tool_use", "id": tool_id, "name": name, "input": {"file_path": "/repo/a"}}
    return assistant(block, uuid, f"m-{uuid}", usage={"output_tokens": 3}, **extra)


def _tricky(tmp_path: Path) -> Path:
    """Calls and results in every arrangement the digest tells apart."""
    lines = [
        user("read a file", "u1"),
        _call("r1", "Read", "a1"),
        tool_result("r1", "line 1\n/repo/x\nline 3", "t1"),  # a Read result: reduced ahead
        tool_result("r1", "answered twice", "t1b"),  # the call was answered: tool "?"
        _call("r2", "Read", "a2"),
        tool_result("r2", "no such file", "t2", is_error=True),  # an error: kept as it is
        _call("b1", "Bash", "a3"),
        tool_result("b1", "ok\n" * 40, "t3"),
        _call("b2", "Bash", "a5"),
        tool_result("b2", "FAILED /repo/a.py::test", "t6"),  # the cwd stripped ahead
        _call("b3", "Bash", "a6"),
        tool_result("b3", "see //repo/repo/x", "t7"),  # stripped, it holds the cwd again: not
        _call("b4", "Bash", "a7"),
        tool_result("b4", _failing_run(), "t8", is_error=True),  # error lines from the middle
        _call("b5", "Bash", "a8"),
        tool_result("b5", "log line\n" * 3_000 + "token=Hunter2xyz!q\n", "t9"),  # in pieces
        _call("r3", "Read", "a4", isMeta=True),  # a meta message: the call is not followed
        tool_result("r3", "text of a meta call", "t4"),
        tool_result("nobody", "a result without its call", "t5"),
        user("compacted", "u2", isCompactSummary=True),
    ]
    return write_jsonl(tmp_path / "s.jsonl", lines)


def _failing_run() -> str:
    lines = [f"collected item {i} in /repo/tests" for i in range(60)]
    lines[30] = "E   AssertionError: expected 2, got 3 (mail jane@corp.io)"
    return "\n".join(lines)


def _events(messages: list[Message]) -> list[object]:
    builder = _EventBuilder(DigestOptions())
    return [ev for msg in messages for ev in builder.events(msg)]


def test_a_read_result_is_reduced_to_its_line_count(tmp_path: Path) -> None:
    messages = list(read_sessions([(_tricky(tmp_path), "")]))
    ahead = Ahead()
    for msg in messages:
        ahead(msg, True)  # time to spare, but no limits: only Read results
    ahead.finish()
    results = [b for m in messages for b in m.blocks if b.kind == "tool_result"]
    assert results[0].excerpt == "[3 lines read]" and results[0].text == ""
    assert [r.excerpt for r in results[1:]] == [None] * (len(results) - 1)
    assert results[1].text == "answered twice"
    texts = [r.text for r in results]
    assert "FAILED a.py::test" in texts and "see //repo/repo/x" in texts
    assert all(m.uuid == m.model == m.msg_id == "" for m in messages)


@pytest.mark.parametrize("spare", [False, True], ids=["reader-only", "results-too"])
def test_the_events_are_the_same_with_or_without_it(tmp_path: Path, spare: bool) -> None:
    sources = [(_tricky(tmp_path), ""), *[(p, "") for p in sorted(ROOT.glob("examples/*.jsonl"))]]
    for source in sources:
        plain = list(read_sessions([source]))
        prepared = list(read_sessions([source]))
        ahead = _ahead(DigestOptions())
        for msg in prepared:
            ahead(msg, spare)
        ahead.finish()
        assert _events(prepared) == _events(plain), source


def test_with_time_to_spare_results_are_made_there(tmp_path: Path) -> None:
    messages = list(read_sessions([(_tricky(tmp_path), "")]))
    ahead = _ahead(DigestOptions(email_allow=("corp.io",)))
    for msg in messages:
        ahead(msg, True)
    results = [b for m in messages for b in m.blocks if b.kind == "tool_result"]
    assert results[1].excerpt is None and results[1].text  # made together, by finish()
    ahead.finish()
    assert all(r.excerpt is not None and r.text == "" and r.fired == -1 for r in results)
    no_file, failed = (r for r in results if r.is_error)
    assert no_file.errors == ["no such file"]  # an error result keeps its error lines
    assert failed.errors == ["E   AssertionError: expected 2, got 3 (mail jane@corp.io)"]
    assert "lines omitted" in (failed.excerpt or "")
    long = next(r.excerpt or "" for r in results if "log line" in (r.excerpt or ""))
    assert "Hunter2xyz" not in long and "[REDACTED" in long
    assert "FAILED a.py::test" in [r.excerpt for r in results]
    assert Ahead().limits is None  # without the digest's limits: never


def test_lines_are_counted_as_the_cwd_stripped_would_leave_them() -> None:
    assert lines_read("a\nb", "/repo") == "[2 lines read]"
    assert lines_read("/odd\ncwd/x\ny", "/odd\ncwd") == "[2 lines read]"
    assert lines_read("", "/repo") == "[1 lines read]"
