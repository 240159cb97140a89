"""The stream parser, on output recorded from the real CLI (tests/data/record_streams.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from learn.console import Output
from learn.engines import select
from learn.engines.stream import StreamState
from learn.errors import UsageError
from learn.settings import Settings, load

DATA = Path(__file__).parent / "data"


def parse(name: str) -> StreamState:
    state = StreamState()
    for line in (DATA / f"stream-{name}.jsonl").read_text().splitlines():
        state.feed(line)
    return state


def test_successful_run() -> None:
    s = parse("write-doc")
    assert s.finished and not s.is_error
    assert s.model == "claude-haiku-4-5"
    assert set(s.tools_offered) == {"Read", "Write", "Edit", "Glob", "Grep"}  # no Bash, no web
    assert s.num_turns == 3 and s.turns == 3
    assert dict(s.tools_used) == {"Glob": 1, "Write": 1}
    assert s.denials == [] and s.message == "Wrote docs/learned/a/b.md"
    assert s.cost_usd > 0 and s.usage["input_tokens"] > 0


def test_denied_write_is_listed_and_unknown_tool_is_an_error() -> None:
    s = parse("denied")
    assert s.finished and not s.is_error  # a refused run still "succeeds": read the denials
    assert [(d.tool, d.target) for d in s.denials] == [("Write", "/tmp/REC/repo/README.md")]
    assert s.tool_errors == 2  # the refused Write and the Bash tool that is not offered


def test_api_error_run() -> None:
    s = parse("api-error")
    assert s.finished and s.is_error
    assert "API Error: 500" in s.message


def test_malformed_and_partial_streams() -> None:
    s = StreamState()
    for line in [
        "",
        "not json",
        "[1]",
        '{"type": "assistant", "message": "odd"}',
        '{"type":"mystery"}',
    ]:
        s.feed(line)
    assert s.malformed == 2 and not s.finished and s.num_turns == 1
    assert "turn 1" in s.progress()


@pytest.mark.parametrize(
    "model",
    [
        "claude-haiku-4-5",
        "claude-3-5-haiku-20241022",
        "haiku",
        "claude-sonnet-4-5[1m]",
        "claude-opus-4-1",
    ],
)
def test_good_model_names(tmp_path: Path, model: str) -> None:
    assert load(tmp_path, {"model": model}, env={}).model == model


@pytest.mark.parametrize(
    "model", ["gpt-4o", "claude haiku", "claude-", "Claude-Haiku", "--verbose"]
)
def test_malformed_model_names_are_rejected_before_starting(tmp_path: Path, model: str) -> None:
    with pytest.raises(UsageError, match="is not a Claude model id"):
        load(tmp_path, {"model": model}, env={})


def test_auto_picks_offline_and_says_why() -> None:
    out = Output(io.StringIO(), actions=False)
    engine, why = select(Settings(), out, env={"PATH": "/nonexistent"})
    assert engine.name == "offline" and "no `claude` CLI on PATH" in why


def test_auto_without_credentials(tmp_path: Path) -> None:
    fake = tmp_path / "claude"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    out = Output(io.StringIO(), actions=False)
    engine, why = select(Settings(), out, env={"PATH": str(tmp_path)})
    assert engine.name == "offline" and "no ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN" in why
    engine, why = select(Settings(), out, env={"PATH": str(tmp_path), "ANTHROPIC_API_KEY": "k"})
    assert engine.name == "claude" and "CLI and credentials found" in why
