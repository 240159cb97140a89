"""GitHub Actions integration: step outputs and the job summary (no-ops outside Actions)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from learn.privacy.outbound import clean

__all__ = ["run_url", "write_outputs", "write_summary"]


def write_outputs(values: Mapping[str, object], env: Mapping[str, str] | None = None) -> None:
    """Append ``values`` to ``$GITHUB_OUTPUT`` (heredoc form, safe for any text)."""
    target = (os.environ if env is None else env).get("GITHUB_OUTPUT")
    if not target:
        return
    with Path(target).open("a", encoding="utf-8") as fh:
        for key, value in values.items():
            text = "" if value is None else clean(str(value))
            delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
            fh.write(f"{key}<<{delimiter}\n{text}\n{delimiter}\n")


def write_summary(markdown: str, env: Mapping[str, str] | None = None) -> None:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY``."""
    target = (os.environ if env is None else env).get("GITHUB_STEP_SUMMARY")
    if target:
        with Path(target).open("a", encoding="utf-8") as fh:
            fh.write(clean(markdown).rstrip("\n") + "\n\n")


def run_url(env: Mapping[str, str] | None = None) -> str:
    """The current workflow run's URL, or "" outside Actions."""
    env = os.environ if env is None else env
    server, repo, run = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else ""
