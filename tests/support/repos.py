"""Real git repositories for tests and benchmarks: a clone of a local bare remote."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
