"""Shared fixtures: real git repositories with a local bare remote, example transcripts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.processes import Done, make_invoke
from tests.support.repos import Repo, make_repo

# Property tests judge behaviour, not speed: a loaded CI machine must not fail them on timing.
settings.register_profile(
    "learn-async", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("learn-async")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A clone of a bare remote whose trunk is ``trunk``."""
    return make_repo(tmp_path)


@pytest.fixture
def invoke(tmp_path: Path) -> Callable[..., Done]:
    """Run one invoke task as its own process, the way CI runs it."""
    return make_invoke(tmp_path)


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The real Claude Code CLI (pinned), installed with npm on first use; skipped without npm."""
    from tests.fakes.claude_cli import default_cache_dir, install_claude_cli

    inst = install_claude_cli(default_cache_dir())
    if inst.path is None:
        pytest.skip(f"Claude Code CLI unavailable: {inst.reason}")
    return inst.path
