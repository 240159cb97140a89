"""Settings: CLI options > ``LEARN_*`` environment variables > ``[tool.learn]`` > defaults."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from learn.errors import UsageError

DEFAULT_MODEL = "claude-haiku-4-5"
# A Claude model id (claude-haiku-4-5, claude-3-5-haiku-20241022, ...) or a CLI alias.
MODEL_RE = re.compile(r"(claude-[a-z0-9]+(?:[.-][a-z0-9]+)*|haiku|sonnet|opus)(\[1m\])?")
ENGINES = ("auto", "offline", "claude")


@dataclass(frozen=True, slots=True)
class Settings:
    engine: str = "auto"
    model: str = DEFAULT_MODEL
    token_budget: int = 20_000
    timeout: int = 900  # seconds the engine may run
    artifact_cap_mb: int = 1024  # largest session artifact downloaded and extracted
    skip_permissions: bool = False  # claude --dangerously-skip-permissions (not recommended)
    dispatch_poll: int = 5  # seconds between polls of a dispatched run
    push: bool | None = None  # None: push in issue mode, not in local mode
    bot_name: str = "learn-async[bot]"
    bot_email: str = "learn-async@users.noreply.github.com"
    trunk: str = ""  # "" = detect


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


def _coerce(name: str, kind: Any, value: object) -> object:
    if kind in ("int", int):
        try:
            return int(str(value))
        except ValueError:
            raise UsageError(f"{name} must be a whole number, not {value!r}") from None
    if kind in ("bool | None", "bool"):
        return parse_bool(name, value)
    return str(value)


def _pyproject(repo: Path) -> dict[str, Any]:
    path = repo / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("learn", {})
    return table if isinstance(table, dict) else {}


def load(
    repo: Path, cli: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Resolve settings for ``repo``; ``cli`` values of None mean "not given"."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    known = {f.name: f.type for f in fields(Settings)}
    for key, value in _pyproject(repo).items():
        key = key.replace("-", "_")
        if key not in known:
            raise UsageError(f"unknown setting [tool.learn] {key!r} in {repo / 'pyproject.toml'}")
        values[key] = _coerce(f"[tool.learn] {key}", known[key], value)
    for key, kind in known.items():
        raw = env.get(f"LEARN_{key.upper()}")
        if raw is not None and raw != "":
            values[key] = _coerce(f"LEARN_{key.upper()}", kind, raw)
    for key, value in (cli or {}).items():
        if value is not None:
            values[key] = _coerce(f"--{key.replace('_', '-')}", known[key], value)
    settings = replace(Settings(), **values)  # type: ignore[arg-type]
    if settings.engine not in ENGINES:
        raise UsageError(
            f"unknown engine {settings.engine!r}", fix=f"use one of {', '.join(ENGINES)}"
        )
    if not MODEL_RE.fullmatch(settings.model):
        raise UsageError(
            f"{settings.model!r} is not a Claude model id",
            fix=f"use e.g. {DEFAULT_MODEL}, or an alias: haiku, sonnet, opus",
        )
    if settings.timeout < 1:
        raise UsageError("timeout must be at least 1 second")
    if settings.token_budget < 1_000:
        raise UsageError("token budget must be at least 1000 tokens")
    return settings
