"""The digest: complete where it matters, compact, chunked, redacted, deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from learn import error_lines
from learn.digest import (
    DigestOptions,
    Event,
    build_digest,
    clean_text,
    edit_change,
    load_events,
    render_event,
    result_excerpt,
)
from learn.privacy.redact import redact
from learn.transcripts.files import discover
from tests.support.repos import EXAMPLES
from tests.support.transcripts import assistant, tool_result, user, write_jsonl

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.jsonl"))


def raw_prompts_and_errors(path: Path) -> tuple[list[str], int]:
    """Independently of the reader: the human prompts and the tool errors in a transcript."""
    prompts, errors = [], 0
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") != "user" or entry.get("isMeta"):
            continue
        content = entry["message"]["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            if block.get("type") == "tool_result" and block.get("is_error"):
                errors += 1
            elif block.get("type") == "text":
                text, _ = clean_text(block["text"])
                if text:
                    prompts.append(text)
    return prompts, errors


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.name)
def test_digest_keeps_every_prompt_and_tool_error(example: Path, tmp_path: Path) -> None:
    prompts, errors = raw_prompts_and_errors(example)
    assert prompts, "the example has user prompts"
    result = build_digest(discover([example]), tmp_path)
    events = list(load_events(tmp_path))
    kept = [e.text for e in events if e.kind == "prompt"]
    for prompt in prompts:
        assert any(redact(prompt)[:200] in k for k in kept), prompt[:80]
    assert sum(e.kind == "result" and e.is_error for e in events) == errors == result.tool_errors
    digest_text = "".join(p.read_text() for p in result.chunks)
    assert result.chars_out == len(digest_text)
    assert result.chars_out * 4 < example.stat().st_size  # much smaller than the raw transcript


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.name)
def test_digest_is_deterministic(example: Path, tmp_path: Path) -> None:
    a = build_digest(discover([example]), tmp_path / "a")
    b = build_digest(discover([example]), tmp_path / "b")
    for name in ("events.jsonl", *(p.name for p in a.chunks)):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert [p.name for p in a.chunks] == [p.name for p in b.chunks]


def test_secrets_in_the_example_never_reach_the_digest(tmp_path: Path) -> None:
    example = EXAMPLES / "fix-failing-test.jsonl"
    raw = example.read_text()
    assert "ghp_" in raw, "the example carries a GitHub token, as real transcripts do"
    result = build_digest(discover([example]), tmp_path)
    for path in [*result.chunks, tmp_path / "events.jsonl"]:
        text = path.read_text()
        assert ("ghp_" not in text and "[REDACTED:" in text) or path.name != "events.jsonl"
        assert "ghp_" not in text


def long_session(tmp_path: Path, turns: int) -> Path:
    entries: list[object] = []
    for i in range(turns):
        entries.append(user(f"prompt {i} " + "words " * 200, f"u{i}"))
        entries.append(
            assistant(
                {
                    "type": "tool_use",
                    "id": f"t{i}",
                    "name": "Bash",
                    "input": {"command": "make test " + "x" * 1000},
                },
                f"a{i}",
                f"m{i}",
            )
        )
        entries.append(
            tool_result(
                f"t{i}", "\n".join(f"line {n}" for n in range(300)), f"r{i}", is_error=i % 2 == 0
            )
        )
    return write_jsonl(tmp_path / "long.jsonl", entries)


def test_chunks_respect_the_budget_and_split_on_event_boundaries(tmp_path: Path) -> None:
    path = long_session(tmp_path, 60)
    result = build_digest(discover([path]), tmp_path / "d", DigestOptions(token_budget=1_000))
    assert len(result.chunks) > 3
    events = list(load_events(tmp_path / "d"))
    seen_numbers = []
    for chunk in result.chunks:
        text = chunk.read_text()
        assert text.startswith("# Session digest — part ")
        assert "## Session" in text.splitlines()[2]  # the section header is restated
        assert len(text) <= 4_000 + 3_500  # budget plus at most one event
        seen_numbers += [
            int(line[1:].split("]")[0]) for line in text.splitlines() if line.startswith("[")
        ]
    assert seen_numbers == [e.n for e in events]  # every event exactly once, in order


@pytest.mark.parametrize("background", [False, True], ids=["here", "second-process"])
def test_a_digest_over_an_earlier_one_leaves_only_its_own_files(
    tmp_path: Path, background: bool
) -> None:
    out = tmp_path / "d"
    long = build_digest(
        discover([long_session(tmp_path, 60)]), out, DigestOptions(token_budget=1_000)
    )
    short = write_jsonl(tmp_path / "short.jsonl", [user("only this", "u1")])
    result = build_digest(
        discover([short]), out, DigestOptions(token_budget=1_000, background=background)
    )
    assert len(long.chunks) > 3 and len(result.chunks) == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "digest-001.md",
        "events.jsonl",
        "manifest.json",
    ]
    assert "only this" in result.chunks[0].read_text()
    assert [e.text for e in load_events(out)] == ["only this"]


def test_long_parameters_and_results_are_shortened(tmp_path: Path) -> None:
    path = long_session(tmp_path, 1)
    build_digest(discover([path]), tmp_path / "d")
    call, result = [e for e in load_events(tmp_path / "d") if e.kind in ("call", "result")]
    assert len(call.params["command"]) < 300 and "chars]" in call.params["command"]
    assert "lines omitted" in result.text and "line 299" in result.text and "line 0" in result.text


def test_result_excerpt_keeps_error_lines_from_the_middle() -> None:
    text = "\n".join(
        [
            *(f"ok {i}" for i in range(100)),
            "E   AssertionError: boom",
            *(f"ok {i}" for i in range(100)),
        ]
    )
    excerpt, errors = result_excerpt(text, DigestOptions())
    assert "AssertionError: boom" in excerpt and errors == ["E   AssertionError: boom"]
    assert len(excerpt) < 600


def test_images_become_markers_and_noise_tags_are_stripped(tmp_path: Path) -> None:
    image = {"type": "image", "source": {"type": "base64", "data": "iVBOR" * 20_000}}
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [
            user(
                [
                    {"type": "text", "text": "look <system-reminder>internal</system-reminder>"},
                    image,
                ],
                "u1",
            ),
            user("[Request interrupted by user]", "u2"),
            user("no, use the other file", "u3"),
            user("expanded slash command", "u4", isMeta=True),
            user("summary of earlier work", "u5", isCompactSummary=True),
        ],
    )
    result = build_digest(discover([path]), tmp_path / "d")
    text = result.chunks[0].read_text()
    assert "[image]" in text and "iVBOR" not in text and "internal" not in text
    assert "expanded slash command" not in text
    assert "COMPACTION: summary of earlier work" in text
    assert "[3] INTERRUPTED BY THE USER\n[4] USER (after interrupt): no, use the other file" in text


def test_empty_and_summary_only_sessions_have_no_prompts(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    summary = write_jsonl(
        tmp_path / "summary.jsonl",
        [{"type": "summary", "summary": "Invalid API key", "leafUuid": "x"}] * 3,
    )
    for path in (empty, summary):
        result = build_digest(discover([path]), tmp_path / path.stem)
        assert result.prompts == 0


def test_summary_line_reports_counts(tmp_path: Path) -> None:
    result = build_digest(discover([EXAMPLES / "nothing-to-learn.jsonl"]), tmp_path)
    line = result.summary()
    assert line.startswith("digest: 1 file(s), ") and "lines read" in line and "tokens" in line


def test_windows_paths_are_made_relative_to_the_session_cwd(tmp_path: Path) -> None:
    cwd = "C:\\Users\\dev\\repo"
    call = assistant(
        {
            "type": "tool_use",
            "id": "t1",
            "name": "Edit",
            "input": {"file_path": cwd + "\\src\\app.py", "old_string": "a", "new_string": "b"},
        },
        "a1",
        "m1",
        cwd=cwd,
    )
    result = tool_result("t1", f"The file {cwd}\\src\\app.py has been updated.", "r1") | {
        "cwd": cwd
    }
    path = write_jsonl(tmp_path / "win.jsonl", [user("edit it", "u1") | {"cwd": cwd}, call, result])
    build_digest(discover([path]), tmp_path / "d")
    events = {e.kind: e for e in load_events(tmp_path / "d")}
    assert events["call"].params["file_path"] == "src/app.py"
    assert "Users" not in events["result"].text


@given(
    lines=st.lists(
        st.sampled_from(
            ["ok", "", "E   ValueError: bad", "  indented", "FAILED test_x", "x" * 50, "\r"]
        ),
        max_size=80,
    ),
    trailing=st.booleans(),
)
def test_result_excerpt_keeps_head_tail_and_errors(lines: list[str], trailing: bool) -> None:
    opts = DigestOptions()
    text = "\n".join(lines) + ("\n" if trailing else "")
    excerpt, errors = result_excerpt(text, opts)
    all_lines = text.splitlines()
    expected_errors = [ln.strip() for ln in all_lines if "Error" in ln or "FAILED" in ln]
    assert errors == expected_errors[: opts.result_error_lines]
    kept = excerpt.splitlines()
    assert all_lines[: opts.result_head] == kept[: len(all_lines[: opts.result_head])]
    content = [ln for ln in all_lines if ln.strip()]
    if content:  # the last line with content is kept (a trailing blank line carries nothing)
        assert content[-1] == [ln for ln in kept if ln.strip()][-1]
    middle_errors = [
        ln
        for ln in all_lines[opts.result_head : len(all_lines) - opts.result_tail]
        if "Error" in ln or "FAILED" in ln
    ]
    for line in middle_errors[: opts.result_error_lines]:
        assert line in kept


def _spans_by_pattern(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """The definition: lines in ``text[start:end]`` where an error pattern matches, in order."""
    haystack, pattern = text.lower(), error_lines.ERROR_WORDS
    if len(haystack) != len(text):
        haystack, pattern = text, error_lines.ERROR_LINE
    spans: list[tuple[int, int]] = []
    pos = start
    while len(spans) < limit and (match := pattern.search(haystack, pos, end)):
        line_end = text.find("\n", match.end())
        line_end = len(text) if line_end == -1 else line_end
        spans.append((text.rfind("\n", 0, match.start()) + 1, line_end))
        pos = line_end + 1
    return spans


_PIECES = [
    *("error", "Error", "TypeError", "exit code ", "exit code 0", "Exit Code 3", "7", "FAIL"),
    *("xfail", "fatal", "cannot", "can't", "not found", "no such", "refused", "✗", "İ", "ß"),
    *("\n", "\n\n", "\r\n", " ", "ok", "a", "denied", "unable", "invalid", "traceback"),
]


@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=40),
    cut=st.tuples(st.integers(0, 400), st.integers(0, 400)),
    limit=st.integers(0, 9),
)
def test_error_lines_are_the_lines_the_error_pattern_matches(
    pieces: list[str], cut: tuple[int, int], limit: int
) -> None:
    text = "".join(pieces)
    start, end = sorted(min(c, len(text)) for c in cut)
    assert error_lines.error_spans(text, start, end, limit) == _spans_by_pattern(
        text, start, end, limit
    )


@pytest.mark.parametrize("line", ["ok", "Error: x", "an error, another error"])
def test_error_lines_in_text_with_more_error_words_than_one_pass_collects(line: str) -> None:
    text = "\n".join([line] * 600 + ["exit code 2"] * 600 + ["FAIL"])  # over 1,000 words
    for start, end, limit in [(0, len(text), 8), (3, len(text) - 5, 2_000), (500, 9_000, 5)]:
        assert error_lines.error_spans(text, start, end, limit) == _spans_by_pattern(
            text, start, end, limit
        )


def test_integers_beyond_64_bits_in_a_tool_input_read_as_floats(tmp_path: Path) -> None:
    call = orjson.dumps(
        assistant({"type": "tool_use", "id": "t1", "name": "X", "input": {"n": 0}}, "a1", "m1")
    ).replace(b'"n":0', b'"n":123456789012345678901234567890,"m":[-99999999999999999999]')
    path = tmp_path / "big.jsonl"
    path.write_bytes(orjson.dumps(user("go", "u1")) + b"\n" + call + b"\n")
    build_digest(discover([path]), tmp_path / "d")
    (event,) = [e for e in load_events(tmp_path / "d") if e.kind == "call"]
    assert event.params == {"n": "1.2345678901234568e+29", "m": "[-1e+20]"}  # as orjson reads them


def test_events_file_leaves_out_empty_fields(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "s.jsonl", [user("hello", "u1")])
    build_digest(discover([path]), tmp_path / "d")
    line = (tmp_path / "d" / "events.jsonl").read_bytes()
    assert line == b'{"n":1,"kind":"prompt","text":"hello","session":"s-1"}\n'


@given(
    text=st.lists(
        st.sampled_from(["a", "b c", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]),
        max_size=12,
    ).map("".join)
)
def test_rendered_text_lines_are_its_splitlines(text: str) -> None:
    """However a tool result breaks into lines, the rendering shows str.splitlines' lines."""
    rendered = render_event(Event(1, "result", text, tool="X", call=2))
    lines = text.splitlines()
    if len(lines) <= 1:
        assert rendered == f"[1] RESULT #2 X: {lines[0] if lines else ''}\n"
    else:
        assert rendered == "[1] RESULT #2 X:\n" + "".join(f"  | {line}\n" for line in lines)


def test_an_edit_change_never_runs_from_one_line_into_the_next() -> None:
    old = 'import re\n\n\ndef slug(text):\n    return "-".join(re.findall("[a-z]+", text))\n'
    new = (
        "import string\n\n_DROP = str.maketrans('', '', string.punctuation)\n\n\n"
        'def slug(text):\n    return "-".join(text.translate(_DROP).split())\n'
    )
    assert edit_change({"old_string": old, "new_string": new}) == (
        "`import re` → `import string`; + `_DROP = str.maketrans('', '', string.punctuation)`; "
        '`return "-".join(re.findall("[a-z]+", text))` → `return "-".join(text.translate(_DROP).split())`'
    )


def test_an_edit_change_of_a_long_line_shows_its_changed_words() -> None:
    line = "The quick brown fox jumps over the lazy dog, and then it runs far away from {}."
    change = edit_change({"old_string": line.format("here"), "new_string": line.format("us")})
    assert change == "`here.` → `us.`"


@pytest.mark.parametrize(
    ("tool_input", "change"),
    [
        ({"old_string": "a\nb\n", "new_string": "a\n"}, "- `b`"),
        ({"old_string": "", "new_string": "x = 1"}, "+ `x = 1`"),
        ({"old_string": "  x = 1", "new_string": "x = 1"}, ""),  # indentation only
        ({"old_string": "use `a`", "new_string": "use `b`"}, "`` use `a` `` → `` use `b` ``"),
        (  # only whole changes, as many as fit in 240 characters
            {"old_string": "", "new_string": "\n".join(["x" * 70] * 4)},
            "+ `" + "x" * 70 + "`; + `" + "x" * 70 + "`; + `" + "x" * 70 + "`; …",
        ),
        (
            {"edits": [{"old_string": "a", "new_string": "b"}, {"old_string": "c"}, "junk"]},
            "`a` → `b`; - `c`",
        ),
        (
            {"old_string": "", "new_string": "\n".join(map(str, range(9)))},
            "+ `0`; + `1`; + `2`; + `3`",
        ),
    ],
)
def test_edit_change_forms(tool_input: dict[str, object], change: str) -> None:
    assert edit_change(tool_input) == change


_WORDS = st.lists(st.sampled_from(["a", "b", "c", "d", "def", "x=1", "`q`"]), max_size=40)


@given(_WORDS, _WORDS)
def test_the_compiled_matcher_gives_difflibs_opcodes(old: list[str], new: list[str]) -> None:
    """edit_change's SequenceMatcher (cydifflib where it has a wheel) is difflib's, exactly."""
    import difflib

    from learn import digest

    mine = digest.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    theirs = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    assert [tuple(op) for op in mine] == theirs
