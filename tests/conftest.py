"""Shared fixtures: real git repositories with a local bare remote, example transcripts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout


@dataclass
class Repo:
    path: Path  # a clone, as a person or CI has it
    remote: Path  # its bare origin

    def git(self, *args: str) -> str:
        return git(self.path, *args)

    def branches(self) -> list[str]:
        return self.git("branch", "--format=%(refname:short)").split()

    def remote_branches(self) -> list[str]:
        return git(self.remote, "branch", "--format=%(refname:short)").split()


def make_repo(tmp: Path) -> Repo:
    """A clone of a bare remote whose trunk is ``trunk`` (not main: detection is tested)."""
    remote, seed, clone = tmp / "remote.git", tmp / "seed", tmp / "work"
    git(tmp, "init", "--quiet", "--bare", "-b", "trunk", str(remote))
    git(tmp, "init", "--quiet", "-b", "trunk", str(seed))
    (seed / "README.md").write_text("# sample\n")
    (seed / "app.py").write_text("print('hi')\n")
    git(seed, "add", ".")
    git(seed, "commit", "--quiet", "-m", "initial")
    git(seed, "push", "--quiet", str(remote), "trunk")
    git(tmp, "clone", "--quiet", str(remote), str(clone))
    return Repo(clone, remote)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A clone of a bare remote whose trunk is ``trunk``."""
    return make_repo(tmp_path)


@dataclass
class Done:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def make_invoke(cwd: Path, timeout: float = 120) -> Callable[..., Done]:
    """A runner of one invoke task as its own process, the way CI runs it (no claude CLI
    unless a test gives LEARN_CLAUDE_BIN)."""

    def run(*args: str, cwd: Path | None = cwd, env: dict[str, str] | None = None) -> Done:
        proc = subprocess.run(
            [sys.executable, "-m", "invoke", "--search-root", str(ROOT), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={
                **os.environ,
                **GIT_ENV,
                "NO_COLOR": "1",
                "GITHUB_ACTIONS": "",
                "LEARN_CLAUDE_BIN": "/nonexistent/claude",
                **(env or {}),
            },
        )
        return Done(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def invoke(tmp_path: Path) -> Callable[..., Done]:
    """Run one invoke task as its own process, the way CI runs it."""
    return make_invoke(tmp_path)


def write_jsonl(path: Path, entries: list[object], raw_tail: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in entries) + raw_tail)
    return path


def user(text: object, uuid: str, **extra: object) -> dict[str, object]:
    return {
        "type": "user",
        "uuid": uuid,
        "sessionId": "s-1",
        "cwd": "/repo",
        "message": {"role": "user", "content": text},
        **extra,
    }


def assistant(
    block: dict[str, object], uuid: str, msg_id: str, **extra: object
) -> dict[str, object]:
    return {
        "type": "assistant",
        "uuid": uuid,
        "sessionId": "s-1",
        "cwd": "/repo",
        "message": {
            "id": msg_id,
            "role": "assistant",
            "model": "claude-x",
            "content": [block],
            "usage": extra.pop("usage", {}),
        },
        **extra,
    }


def tool_result(
    tool_id: str, content: object, uuid: str, is_error: bool = False
) -> dict[str, object]:
    block = {
        "type": "tool_result",
        "tool_use_id": tool_id,
        "content": content,
        "is_error": is_error,
    }
    return user([block], uuid)


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The real Claude Code CLI (pinned), installed with npm on first use; skipped without npm."""
    from tests.fakes.claude_cli import default_cache_dir, install_claude_cli

    inst = install_claude_cli(default_cache_dir())
    if inst.path is None:
        pytest.skip(f"Claude Code CLI unavailable: {inst.reason}")
    return inst.path
