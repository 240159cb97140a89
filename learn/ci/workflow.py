"""The learn-async workflow: one template, rendered for this repository or for an adopter.

This repository runs its own tasks through nox (``nox -s learn -- <task>``, the local/CI parity
entry point); a repository that adopts learn-async installs the pinned package and runs the
``learn-async`` console script. ``learn-async init`` writes the adopter's copy.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from learn import __version__
from learn.errors import UsageError

WORKFLOW_PATH = Path(".github/workflows/learn-async.yml")
LOCK_DIR = Path(".github/learn-async")  # an adopter's copy of the Claude Code lockfile
LOCK_FILES = ("package.json", "package-lock.json")
SELF = "self"  # this repository


def template() -> str:
    return (
        resources.files("learn").joinpath("templates/learn-async.yml").read_text(encoding="utf-8")
    )


def render(mode: str = "adopter", spec: str | None = None) -> str:
    """The workflow text: ``mode="self"`` for this repository, else for an adopter.

    ``spec`` is the pip requirement an adopter installs (default: this exact version).
    """
    if mode == SELF:
        install = "python -m pip install 'nox[uv]'"
        learn = "nox -s learn --"
        lock_dir = "learn/templates/claude-code"
        generated = "Rendered from learn/templates/learn-async.yml (nox -s workflow); do not edit."
    else:
        requirement = spec or f"learn-async=={__version__}"
        if "'" in requirement:
            raise UsageError("the package spec may not contain a single quote")
        install = f"python -m pip install '{requirement}'"
        learn = "learn-async"
        lock_dir = LOCK_DIR.as_posix()
        generated = f"Written by learn-async {__version__} (learn-async init); re-run it to update."
    return (
        template()
        .replace("@INSTALL@", install)
        .replace("@LEARN@", learn)
        .replace("@CLAUDE_LOCK_DIR@", lock_dir)
        .replace("@GENERATED@", generated)
    )


def init(repo: Path, spec: str | None = None, *, force: bool = False) -> list[Path]:
    """Write the workflow and the ``.learn/`` ignore entry into ``repo``; return what changed."""
    if not (repo / ".git").exists():
        raise UsageError(f"{repo} is not the top of a git repository", fix="pass --repo PATH")
    changed = []
    target = repo / WORKFLOW_PATH
    text = render("adopter", spec)
    if target.exists() and target.read_text(encoding="utf-8") != text and not force:
        existing = target.read_text(encoding="utf-8")
        if "learn-async init" not in existing:
            raise UsageError(
                f"{target} exists and was not written by learn-async init",
                fix="pass --force to replace it",
            )
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(target)
    for name in LOCK_FILES:
        source = (
            resources.files("learn").joinpath(f"templates/claude-code/{name}").read_text("utf-8")
        )
        dest = repo / LOCK_DIR / name
        if not dest.exists() or dest.read_text(encoding="utf-8") != source:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(source, encoding="utf-8")
            changed.append(dest)
    ignore = repo / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    if not {".learn/", "/.learn/", ".learn"} & set(lines):
        with ignore.open("a", encoding="utf-8") as fh:
            fh.write(("\n" if lines and lines[-1] else "") + ".learn/\n")
        changed.append(ignore)
    return changed


if __name__ == "__main__":  # python -m learn.ci.workflow {self|adopter} PATH
    import sys

    Path(sys.argv[2]).write_text(render(sys.argv[1]), encoding="utf-8")
