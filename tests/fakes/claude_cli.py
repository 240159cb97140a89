"""Install and run the real Claude Code CLI hermetically (for tests and examples/generate.py).

``ensure_claude_cli(cache_dir)`` npm-installs ``@anthropic-ai/claude-code@<version>`` into
``cache_dir/<version>/`` once and returns the ``claude`` executable, or ``None`` when that is
impossible; :func:`install_claude_cli` returns the same plus the reason.
``claude_env(base_url, home)`` is an environment that talks only to a loopback fake, keeps all
state under ``home`` and never prompts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

DEFAULT_VERSION = "2.1.197"
PACKAGE = "@anthropic-ai/claude-code"

__all__ = [
    "DEFAULT_VERSION",
    "CliInstall",
    "claude_env",
    "default_cache_dir",
    "ensure_claude_cli",
    "find_transcript",
    "install_claude_cli",
    "project_dir",
]


@dataclass(frozen=True)
class CliInstall:
    """Outcome of :func:`install_claude_cli`: ``path`` of ``claude``, or ``None`` and why."""

    path: Path | None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.path is not None


def default_cache_dir() -> Path:
    """``$LEARN_TEST_CACHE`` or ``<repo>/.nox/.cache/claude-code``."""
    env = os.environ.get("LEARN_TEST_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / ".nox" / ".cache" / "claude-code"


def _version_ok(exe: Path, version: str) -> tuple[bool, str]:
    try:
        out = subprocess.run(
            [str(exe), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            env={
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(exe.parent),
                "DISABLE_AUTOUPDATER": "1",
            },
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"{exe} --version failed: {e}"
    if out.returncode != 0 or not out.stdout.strip().startswith(version):
        return (
            False,
            f"{exe} --version gave rc={out.returncode}: {(out.stdout + out.stderr)[:300]!r}",
        )
    return True, ""


def _candidates(prefix: Path) -> list[Path]:
    nm = prefix / "node_modules"
    # The wrapper's bin is replaced by the native binary by its postinstall; if npm skipped
    # install scripts, the platform package's binary is usable directly.
    return [nm / ".bin" / "claude", *sorted(nm.glob("@anthropic-ai/claude-code-*/claude"))]


def _find_working(prefix: Path, version: str) -> tuple[Path | None, str]:
    why = f"no claude executable under {prefix}"
    for exe in _candidates(prefix):
        if exe.exists() and os.access(exe, os.X_OK):
            ok, why = _version_ok(exe, version)
            if ok:
                return exe, ""
    return None, why


def install_claude_cli(
    cache_dir: Path | None = None, version: str = DEFAULT_VERSION, timeout: float = 600
) -> CliInstall:
    """Install ``@anthropic-ai/claude-code@version`` under ``cache_dir/version`` unless a
    working copy is already there."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    prefix = cache_dir / version
    try:
        prefix.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return CliInstall(None, f"cannot create {prefix}: {e}")
    with FileLock(cache_dir / ".install.lock"):
        exe, _ = _find_working(prefix, version)
        if exe is not None:
            return CliInstall(exe)
        npm = shutil.which("npm")
        if npm is None:
            return CliInstall(None, "npm is not on PATH")
        if not (prefix / "package.json").exists():
            (prefix / "package.json").write_text('{"private": true}\n')
        cmd = [
            npm,
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"{PACKAGE}@{version}",
        ]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=prefix)
        except (OSError, subprocess.TimeoutExpired) as e:
            return CliInstall(None, f"{' '.join(cmd)} failed: {e}")
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip()[-800:]
            return CliInstall(None, f"npm install failed (rc={out.returncode}): {tail}")
        exe, why = _find_working(prefix, version)
        if exe is None:
            # npm may have skipped the postinstall that puts the native binary in place.
            install_js = prefix / "node_modules" / "@anthropic-ai" / "claude-code" / "install.cjs"
            node = shutil.which("node")
            if node and install_js.exists():
                subprocess.run(
                    [node, str(install_js)],
                    cwd=install_js.parent,
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
                exe, why = _find_working(prefix, version)
        return CliInstall(exe, why if exe is None else "")


def ensure_claude_cli(cache_dir: Path | None = None, version: str = DEFAULT_VERSION) -> Path | None:
    """Path of a working ``claude`` of that version (installing it if needed), else ``None``.
    Use :func:`install_claude_cli` to learn why it is ``None``."""
    return install_claude_cli(cache_dir, version).path


def claude_env(base_url: str, home: Path, **extra: str) -> dict[str, str]:
    """Environment for a hermetic, non-interactive ``claude`` run against a fake API.

    Built from scratch (nothing of the caller's ANTHROPIC_*/CLAUDE_* leaks in); only PATH,
    locale, TMPDIR and SHELL are kept. ``home`` becomes HOME and ``home/.claude`` the config
    dir, so transcripts land in ``home/.claude/projects/<encoded cwd>/``. A fresh HOME needs no
    onboarding for ``-p`` runs. Retries are limited to 2 (``CLAUDE_CODE_MAX_RETRIES``); pass
    ``CLAUDE_CODE_MAX_RETRIES="0"`` etc. in ``extra`` to change it.
    """
    home = Path(home)
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-ant-api03-fake-key-for-loopback-tests-only",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "IS_SANDBOX": "1",
        "CLAUDE_CODE_MAX_RETRIES": "2",
        "SHELL": shutil.which("bash") or "/bin/sh",
    }
    for key in ("LANG", "LC_ALL", "TMPDIR", "TERM"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(extra)
    return env


def project_dir(config_dir: Path, cwd: Path | str) -> Path:
    """``<config_dir>/projects/<encoded cwd>``. 2.1.x turns every non-alphanumeric character
    into ``-`` (older versions: ``/``, ``\\``, ``.`` and ``:``) and shortens very long names
    with a hash suffix - so when in doubt look a session up by id with :func:`find_transcript`."""
    return Path(config_dir) / "projects" / re.sub(r"[^a-zA-Z0-9]", "-", str(cwd))


def find_transcript(config_dir: Path, session_id: str) -> Path | None:
    """``<config_dir>/projects/*/<session_id>.jsonl`` if it exists."""
    hits = sorted((Path(config_dir) / "projects").glob(f"*/{session_id}.jsonl"))
    return hits[0] if hits else None
