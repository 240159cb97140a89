"""Settings: CLI options > ``LEARN_*`` environment variables > ``[tool.learn]`` > defaults.

Each setting is declared once, as a field of :class:`Settings`: its type, default and help text
live there; its environment variable (``LEARN_<NAME>``), its ``[tool.learn]`` key and its CLI
option (``--<name>``) are derived from the field name, and the tasks' ``--help`` reads the help
text from here (:func:`cli_help`).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from learn.errors import UsageError

__all__ = [
    "BOT_EMAIL",
    "BOT_NAME",
    "DEFAULT_MODEL",
    "ENGINES",
    "MODEL_RE",
    "OTHER_ENV",
    "Settings",
    "cli_help",
    "cli_name",
    "env_name",
    "load",
    "parse_bool",
]

DEFAULT_MODEL = "claude-haiku-4-5"
# A Claude model id (claude-haiku-4-5, claude-3-5-haiku-20241022, ...) or a CLI alias.
MODEL_RE = re.compile(r"(claude-[a-z0-9]+(?:[.-][a-z0-9]+)*|haiku|sonnet|opus)(\[1m\])?")
ENGINES = ("auto", "offline", "claude")
# GitHub's own bot account: commits by it are shown as github-actions[bot].
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
# LEARN_* variables that are not settings (anything else named LEARN_* is probably a typo).
OTHER_ENV = {
    "LEARN_CLAUDE_BIN": "where the claude CLI is (default: found on PATH)",
    "LEARN_TEST_CACHE": "where the tests install the pinned Claude Code CLI",
    "LEARN_ASYNC_PAT": "the workflow's optional PAT secret",
}


def _setting(
    default: Any,
    help: str,
    *,
    cli: str | None = None,
    choices: tuple[str, ...] = (),
    minimum: float | None = None,
) -> Any:
    """Declare one setting: default, help, and optionally its CLI name, choices and minimum."""
    meta = {"help": help, "cli": cli, "choices": choices, "minimum": minimum}
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class Settings:
    engine: str = _setting(
        "auto",
        "auto | claude | offline (auto: claude when the CLI and credentials are there)",
        choices=ENGINES,
    )
    model: str = _setting(DEFAULT_MODEL, "model for the Claude engine")
    token_budget: int = _setting(20_000, "digest chunk size in tokens", minimum=1_000)
    timeout: int = _setting(900, "seconds the learn engine may run", minimum=1)
    artifact_cap_mb: int = _setting(
        1024, "largest session artifact downloaded and extracted, in MB", minimum=1
    )
    skip_permissions: bool = _setting(
        False,
        "run claude unconfined (NOT recommended: the transcript is untrusted); "
        "our own path check still applies",
        cli="dangerously-skip-permissions",
    )
    dispatch_poll: int = _setting(5, "seconds between polls of a dispatched run", minimum=0)
    push: bool | None = _setting(
        None, "push the learn branch to origin (default: on with --issue, off without)"
    )
    max_turns: int = _setting(
        0, "stop the Claude engine after this many turns (0: no cap)", minimum=0
    )
    max_cost_usd: float = _setting(
        0.0, "stop the Claude engine once it has spent this many US dollars (0: no cap)", minimum=0
    )
    prompt_file: str = _setting(
        "",
        "your own prompt for the Claude engine, a file relative to the repository "
        "(default: the bundled prompt)",
    )
    bot_name: str = _setting(BOT_NAME, "commit author name")
    bot_email: str = _setting(BOT_EMAIL, "commit author e-mail")
    trunk: str = _setting("", "branch to start from (default: detected)")
    email_allow: str = _setting(
        "",
        "e-mail domains kept in learned docs and PR text, comma-separated (e.g. acme.com); "
        "every other address is masked",
    )
    github_retries: int = _setting(3, "retries of a transient GitHub failure", minimum=0)
    github_backoff: float = _setting(
        1.0, "seconds before the first GitHub retry (doubled each time)", minimum=0
    )
    lock_wait: float = _setting(
        10.0, "seconds to wait for another learn run on the same repository to finish", minimum=0
    )


def _declared() -> dict[str, Field[Any]]:
    return {f.name: f for f in fields(Settings)}


def cli_name(name: str) -> str:
    """The CLI option of a setting: ``skip_permissions`` → ``dangerously-skip-permissions``."""
    return _declared()[name].metadata["cli"] or name.replace("_", "-")


def env_name(name: str) -> str:
    return f"LEARN_{name.upper()}"


def cli_help(*names: str) -> dict[str, str]:
    """``--help`` texts for the named settings (all when none is named), keyed by CLI option."""
    declared = _declared()
    out: dict[str, str] = {}
    for name in names or tuple(declared):
        f = declared[name]
        default = "" if f.default in (None, "", MISSING) else f"; default {f.default}"
        out[cli_name(name)] = f"{f.metadata['help']} (env {env_name(name)}{default})"
    return out


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(name: str, value: object) -> bool:
    """``LEARN_PUSH=false`` means False (not a truthy non-empty string)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"{name} must be true or false, not {value!r}")


def _coerce(where: str, f: Field[Any], value: object) -> object:
    kind = str(f.type)
    if kind in ("bool | None", "bool"):
        return parse_bool(where, value)
    if kind in ("int", "float"):
        if isinstance(value, bool):
            raise UsageError(f"{where} must be a number, not {value!r}")
        try:
            number: float = int(str(value)) if kind == "int" else float(str(value))
        except ValueError:
            what = "a whole number" if kind == "int" else "a number"
            raise UsageError(f"{where} must be {what}, not {value!r}") from None
        minimum = f.metadata["minimum"]
        if minimum is not None and number < minimum:
            raise UsageError(f"{where} must be at least {minimum:g}, not {value!r}")
        return number
    text = str(value)
    choices = f.metadata["choices"]
    if choices and text not in choices:
        raise UsageError(
            f"unknown {f.name} {text!r} (from {where})", fix=f"use one of {', '.join(choices)}"
        )
    return text


def _pyproject(repo: Path) -> dict[str, Any]:
    path = repo / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):  # not ours to judge: no [tool.learn] in it
        return {}
    table = tool.get("learn", {})
    if not isinstance(table, dict):
        raise UsageError(
            f"[tool] learn in {path} is a {_kind(table)}, not a table",
            fix="write the settings under a [tool.learn] table",
        )
    return table


def _kind(value: object) -> str:
    return {str: "string", int: "number", float: "number", bool: "boolean", list: "list"}.get(
        type(value), type(value).__name__
    )


def closest(name: str, valid: list[str]) -> str:
    """`` — did you mean X?`` for the closest valid name, or ""."""
    match = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    return f" — did you mean {match[0]}?" if match else ""


def _unknown_env(env: Mapping[str, str], declared: dict[str, Field[Any]]) -> list[str]:
    valid = [env_name(k) for k in declared] + list(OTHER_ENV)
    return [
        f"unknown environment variable {name} (ignored){closest(name, valid)}"
        for name in sorted(env)
        if name.startswith("LEARN_") and name not in valid
    ]


def load(
    repo: Path,
    cli: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> Settings:
    """Resolve settings for ``repo``; ``cli`` values of None mean "not given".

    Every value is checked here, before any step changes anything. Unknown ``LEARN_*`` names and
    unknown ``[tool.learn]`` keys are reported to ``warn`` with the closest valid name.
    """
    env = os.environ if env is None else env
    declared = _declared()
    values: dict[str, object] = {}
    notes: list[str] = []
    for raw_key, value in _pyproject(repo).items():
        key = str(raw_key).replace("-", "_")
        if key not in declared:
            valid = [k.replace("_", "-") for k in declared]
            notes.append(
                f"unknown setting [tool.learn] {raw_key!r} in {repo / 'pyproject.toml'} "
                f"(ignored){closest(key.replace('_', '-'), valid)}"
            )
            continue
        values[key] = _coerce(f"[tool.learn] {raw_key}", declared[key], value)
    notes += _unknown_env(env, declared)
    for key, f in declared.items():
        raw = env.get(env_name(key))
        if raw is not None and raw != "":
            values[key] = _coerce(env_name(key), f, raw)
    for key, value in (cli or {}).items():
        if value is not None and value != "":
            values[key] = _coerce(f"--{cli_name(key)}", declared[key], value)
    settings = replace(Settings(), **values)  # type: ignore[arg-type]
    # The model matters only to an engine that uses one (offline does not).
    if settings.engine != "offline" and not MODEL_RE.fullmatch(settings.model):
        raise UsageError(
            f"{settings.model!r} is not a Claude model id",
            fix=f"use e.g. {DEFAULT_MODEL}, or an alias: haiku, sonnet, opus",
        )
    if warn is not None:
        for note in notes:
            warn(note)
    return settings
