"""The demo: the main job on a bundled example, in a throwaway clone of a small repository.

``nox -s demo`` runs ``python -m learn.demo``: it copies ``examples/textkit/`` into a fresh git
repository with a bare ``origin``, clones it, then runs ``invoke learn --session
examples/fix-failing-test.jsonl --push`` there, exactly as a person would, and prints where the
branch and the learned docs are.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from learn.gateways.git import Git

__all__ = ["ROOT", "main", "make_sample_repo"]

ROOT = Path(__file__).resolve().parent.parent


def make_sample_repo(template: Path, where: Path) -> Path:
    """A bare ``origin`` seeded from ``template`` and a clone of it; returns the clone."""
    remote, seed, clone = where / "origin.git", where / "seed", where / "textkit"
    shutil.copytree(template, seed)
    env = {
        "GIT_AUTHOR_NAME": "Example Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Example Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
    }
    git = Git(where)
    git.run("init", "--quiet", "--bare", "-b", "main", str(remote))
    git.run("init", "--quiet", "-b", "main", cwd=seed)
    git.run("add", "--all", cwd=seed)
    git.run("commit", "--quiet", "-m", "textkit: word_count", cwd=seed, env=env)
    git.run("push", "--quiet", str(remote), "main", cwd=seed)
    git.run("clone", "--quiet", str(remote), str(clone))
    shutil.rmtree(seed)
    return clone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="learn.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--session", default=str(ROOT / "examples" / "fix-failing-test.jsonl"))
    parser.add_argument("--template", default=str(ROOT / "examples" / "textkit"))
    parser.add_argument(
        "--keep-in", help="folder for the throwaway repository (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    where = Path(args.keep_in or tempfile.mkdtemp(prefix="learn-async-demo-")).resolve()
    where.mkdir(parents=True, exist_ok=True)
    clone = make_sample_repo(Path(args.template), where)
    print(f"demo repository: {clone} (origin: {where / 'origin.git'})\n", flush=True)
    command = [
        sys.executable,
        "-m",
        "invoke",
        "--search-root",
        str(ROOT),
        "learn",
        "--session",
        args.session,
        "--repo",
        str(clone),
        "--push",
    ]
    print("$ invoke " + " ".join(command[5:]), flush=True)
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        return done.returncode
    git = Git(clone)
    branch = next(line.strip() for line in git.run("branch", "--list", "learn-*").splitlines())
    files = git.run("diff", "--name-only", f"main...{branch}").split()
    print(f"\nbranch {branch} (pushed to {where / 'origin.git'})")
    for path in files:
        print(f"  {path}")
    doc = next(iter(files), None)
    if doc:
        print(f"\n--- {doc} ---\n" + git.run("show", f"{branch}:{doc}"))
    print(f"look around: cd {clone} && git log -p main..{branch}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
