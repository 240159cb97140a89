"""Which commit of learn-async an adopter's workflow pins: ``OWNER/REPO@<40-hex sha>``.

``learn-async init`` asks :func:`resolve`, in this order:

1. ``--source OWNER/REPO`` and ``--ref SHA`` when given (each overrides its half);
2. the installed package's PEP 610 record (``direct_url.json``, written by pip and uv): after
   ``pip install git+https://github.com/OWNER/REPO@REF`` it holds the URL and the exact commit;
3. the git checkout learn-async was installed or run from (``pip install PATH``, ``pip install -e
   PATH``, or this repository itself): its ``HEAD`` and the GitHub repository of its ``origin``.

Nothing found is a :class:`UsageError` that says which option to pass.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

import learn
from learn import __version__
from learn.errors import UsageError
from learn.gateways.github import repo_from_remote

__all__ = ["ACTION_PATH", "Pin", "resolve"]

ACTION_PATH = ".github/actions/learn-async"  # where the composite action lives in a clone
SHA_RE = re.compile(r"[0-9a-f]{40}")
REPO_RE = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Pin:
    """``uses: <repo>/.github/actions/learn-async@<sha> # v<version>``."""

    repo: str  # OWNER/REPO on GitHub
    sha: str  # 40 hex digits
    version: str = __version__
    found_in: str = ""  # where it came from, said to the person
    checkout: Path | None = None  # a local clone holding the commit (for ancestry checks)

    def uses(self) -> str:
        return f"{self.repo}/{ACTION_PATH}@{self.sha} # v{self.version}"


def resolve(source: str = "", ref: str = "") -> Pin:
    """The pin for ``init``: explicit options first, then what the installation tells."""
    if source and not REPO_RE.fullmatch(source):
        raise UsageError(f"--source must be OWNER/REPO on GitHub, not {source!r}")
    if ref and not SHA_RE.fullmatch(ref):
        raise UsageError(
            f"--ref must be a full 40-hex commit SHA (the form Dependabot updates), not {ref!r}",
            fix="find it with: git ls-remote https://github.com/OWNER/REPO TAG",
        )
    found = _from_direct_url() or _from_checkout(Path(learn.__file__).resolve().parents[1])
    repo = source or (found.repo if found else "")
    sha = ref or (found.sha if found else "")
    if not repo or not sha:
        raise UsageError(
            "cannot tell which commit of learn-async the workflow should pin",
            fix="pass --source OWNER/REPO --ref <40-hex SHA>, or install learn-async with "
            "pip install git+https://github.com/OWNER/REPO@TAG",
        )
    where = "--source/--ref" if source and ref else (found.found_in if found else "")
    checkout = found.checkout if found and sha == found.sha else None
    return Pin(repo, sha, __version__, where, checkout)


def _from_direct_url() -> Pin | None:
    try:
        text = metadata.distribution("learn-async").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None
    url = str(record.get("url") or "")
    vcs = record.get("vcs_info") or {}
    if vcs.get("vcs") == "git" and SHA_RE.fullmatch(str(vcs.get("commit_id") or "")):
        repo = _github_repo(url)
        if repo:
            return Pin(repo, vcs["commit_id"], found_in=f"installed from {url}")
    if url.startswith("file://"):
        return _from_checkout(Path(unquote(urlparse(url).path)))
    return None


def _from_checkout(folder: Path) -> Pin | None:
    """HEAD and origin of the git checkout at ``folder`` (None when it is not one)."""
    if not (folder / ACTION_PATH / "action.yml").is_file():
        return None

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    sha, origin = git("rev-parse", "HEAD"), git("remote", "get-url", "origin")
    repo = _github_repo(origin)
    if not SHA_RE.fullmatch(sha) or not repo:
        return None
    notes = []
    if git("status", "--porcelain", "--untracked-files=no"):
        notes.append("its uncommitted changes are not in the pinned commit")
    if not git("branch", "--remotes", "--contains", sha):
        notes.append("push that commit to GitHub before the workflow runs")
    where = f"the git checkout {folder}" + "".join(f"; {n}" for n in notes)
    return Pin(repo, sha, found_in=where, checkout=folder)


def _github_repo(url: str) -> str:
    """``OWNER/REPO`` of a GitHub remote URL (https, ssh, git+https), else ""."""
    return repo_from_remote(url.removeprefix("git+"))
