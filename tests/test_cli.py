"""The `learn-async` console script: its help, its options, and its manners in a pipe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from learn.collection import SHORT, ns
from learn.engines import EngineJob
from learn.engines.claude import command
from learn.settings import load
from learn.steps import messages


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "learn.cli", *args], capture_output=True, text=True
    )


def test_help_describes_the_tool_and_its_tasks() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("learn-async turns Claude Code session transcripts")
    assert "learn-async learn --issue N" in done.stdout and "find-plan" in done.stdout
    for gone in ("sudo", "--pty", "--dry", "--echo", "--warn-only", "--command-timeout"):
        assert gone not in done.stdout


@pytest.mark.parametrize("flag", ["-R", "--dry", "--pty", "--echo"])
def test_invokes_shell_options_are_not_offered(flag: str) -> None:
    done = run(flag, "learn")
    assert done.returncode == 2 and "No idea what" in done.stderr


def test_short_flags_are_the_same_in_every_task_and_every_option_says_what_it_does() -> None:
    for name in ns.task_names:
        for arg in ns[name].get_arguments():
            long, *short = arg.names
            assert arg.help and len(arg.help) > 15, f"{name} --{long} has no help"
            assert short == ([SHORT[long]] if long in SHORT else []), (name, arg.names)


def test_a_closed_pipe_is_not_a_traceback() -> None:
    cli = f"{sys.executable} -m learn.cli --help learn"
    done = subprocess.run(
        ["bash", "-c", f"{cli} | head -1"], capture_output=True, text=True, check=True
    )
    assert done.stdout.count("\n") == 1 and "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr


def test_commit_subjects_are_whole() -> None:
    stem = "5f0c1d2e-0000-4000-8000-000000000001"
    one = messages.commit_message(None, "", [stem], 2, "offline")
    assert one.splitlines()[0] == f"Learn from session {stem}"
    many = messages.commit_message(None, "", [stem, "b" * 36, "c" * 36], 2, "offline")
    assert many.splitlines()[0] == f"Learn from session {stem} and 2 more"
    assert f"- {'c' * 36}" in many
    title = "Add a slugify helper that handles unicode input and keeps the output stable"
    long = messages.commit_message(7, title, [], 1, "claude")
    subject = long.splitlines()[0]
    assert len(subject) <= 72 and subject.endswith("…")
    assert f"Learn from plan #7: {title}" in long  # the whole subject, in the body


def test_listings_say_how_many_were_left_out() -> None:
    assert messages.listing([f"s{i}" for i in range(12)], shown=10).endswith("s9 … and 2 more")
    assert messages.listing(["a", "b"]) == "a, b"


def test_caps_reach_the_cli(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text("")  # an empty digest
    job = EngineJob(tmp_path, tmp_path, tmp_path, [], 7, "t", "2026-01-01")
    plain = command(job, load(tmp_path, {}, env={}))
    assert "--max-turns" not in plain and "--max-budget-usd" not in plain
    capped = command(job, load(tmp_path, {"max_turns": 12, "max_cost_usd": 0.5}, env={}))
    assert capped[capped.index("--max-turns") + 1] == "12"
    assert capped[capped.index("--max-budget-usd") + 1] == "0.5"


def test_help_texts_survive_being_asked_twice() -> None:
    """invoke consumes a task's help dict when it builds the arguments; asking again (the
    parser, then --help) must still find every text."""
    first = {a.name: a.help for a in ns["learn"].get_arguments()}
    again = {a.name: a.help for a in ns["learn"].get_arguments()}
    assert again == first and all(first.values())
