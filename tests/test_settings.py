"""Settings precedence: CLI > LEARN_* env > [tool.learn] > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from learn.errors import UsageError
from learn.settings import DEFAULT_MODEL, load, parse_bool


def test_defaults(tmp_path: Path) -> None:
    s = load(tmp_path, {}, env={})
    assert (s.engine, s.model, s.token_budget, s.push) == ("auto", DEFAULT_MODEL, 20_000, None)


def test_precedence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.learn]\nmodel = "claude-from-toml"\ntoken-budget = 5000\nengine = "offline"\n'
    )
    env = {"LEARN_MODEL": "claude-from-env", "LEARN_TOKEN_BUDGET": "6000"}
    s = load(tmp_path, {"model": "claude-from-cli", "token_budget": None}, env=env)
    assert (s.model, s.token_budget, s.engine) == ("claude-from-cli", 6000, "offline")


@pytest.mark.parametrize(
    "raw, expected",
    [("false", False), ("0", False), ("no", False), ("True", True), ("1", True), ("on", True)],
)
def test_env_booleans_mean_what_they_say(tmp_path: Path, raw: str, expected: bool) -> None:
    assert load(tmp_path, {}, env={"LEARN_PUSH": raw}).push is expected


@pytest.mark.parametrize(
    "env, message",
    [
        ({"LEARN_PUSH": "maybe"}, "LEARN_PUSH must be true or false"),
        ({"LEARN_TOKEN_BUDGET": "lots"}, "LEARN_TOKEN_BUDGET must be a whole number"),
        ({"LEARN_ENGINE": "gpt"}, "unknown engine 'gpt'"),
        ({"LEARN_TOKEN_BUDGET": "10"}, "at least 1000"),
    ],
)
def test_bad_values_are_usage_errors(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        load(tmp_path, {}, env=env)
    assert info.value.exit_code == 2


def test_bad_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.learn]\ntoken-budgte = 5000\n")
    warnings: list[str] = []
    load(tmp_path, {}, env={}, warn=warnings.append)
    assert len(warnings) == 1 and "unknown setting [tool.learn] 'token-budgte'" in warnings[0]
    assert "did you mean token-budget?" in warnings[0]
    (tmp_path / "pyproject.toml").write_text("[tool]\nlearn = 5\n")
    with pytest.raises(UsageError, match=r"\[tool\] learn .* is a number, not a table"):
        load(tmp_path, {}, env={})
    (tmp_path / "pyproject.toml").write_text("[tool.learn\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load(tmp_path, {}, env={})


def test_parse_bool_accepts_bools() -> None:
    assert parse_bool("x", True) is True


def test_every_setting_is_declared_once_and_reaches_the_task_help() -> None:
    """The tasks' --help for a setting is the help declared on the Settings field."""
    from dataclasses import fields

    from learn.collection import HELP, ns
    from learn.settings import Settings, cli_help, cli_name

    for f in fields(Settings):
        assert f.metadata["help"], f"{f.name} has no help text"
        assert HELP[cli_name(f.name)] == cli_help(f.name)[cli_name(f.name)]
    # every option a task offers has a help text, and none is declared twice
    for name in ns.task_names:
        task = ns[name]
        for option in task.help:
            assert task.help[option], f"{name} --{option} has no help"


def test_numbers_below_their_minimum_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="LEARN_ARTIFACT_CAP_MB must be at least 1, not '-1'"):
        load(tmp_path, {}, env={"LEARN_ARTIFACT_CAP_MB": "-1"})
    with pytest.raises(UsageError, match="LEARN_GITHUB_BACKOFF must be a number"):
        load(tmp_path, {}, env={"LEARN_GITHUB_BACKOFF": "soon"})
    assert load(tmp_path, {}, env={"LEARN_GITHUB_BACKOFF": "0.25"}).github_backoff == 0.25


def test_a_non_table_tool_section_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('tool = "x"\n')
    assert load(tmp_path, {}, env={}).engine == "auto"


def test_unknown_learn_variables_are_named_with_the_closest_one(tmp_path: Path) -> None:
    warnings: list[str] = []
    env = {"LEARN_ENGIN": "offline", "LEARN_CLAUDE_BIN": "/x", "LEARN_MODEL": "haiku"}
    assert load(tmp_path, {}, env=env, warn=warnings.append).engine == "auto"
    assert warnings == [
        "unknown environment variable LEARN_ENGIN (ignored) — did you mean LEARN_ENGINE?"
    ]


def test_the_model_is_checked_only_for_an_engine_that_uses_it(tmp_path: Path) -> None:
    assert load(tmp_path, {"engine": "offline", "model": "gpt-4"}, env={}).model == "gpt-4"
    with pytest.raises(UsageError, match="not a Claude model id"):
        load(tmp_path, {"engine": "claude", "model": "gpt-4"}, env={})
