"""The learn-async caller workflow: one template, for this repository and for adopters.

Both call the composite action ``.github/actions/learn-async`` (one implementation): this
repository through its local path, an adopter by ``OWNER/REPO/.github/actions/learn-async@<sha>
# v<version>`` (the form Dependabot updates). Lines of the template marked ``#@on-land`` are the
trigger that starts learning when a plan's pull request is merged; they are kept with
``on_land`` and dropped otherwise. ``learn-async init`` writes the adopter's copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from learn.ci.source import ACTION_PATH, Pin
from learn.errors import UsageError

__all__ = ["WORKFLOW_PATH", "Existing", "init", "read_existing", "render", "render_self"]

WORKFLOW_PATH = Path(".github/workflows/learn-async.yml")
OLD_LOCK_DIR = Path(".github/learn-async")  # where an older init copied the Claude Code lockfile
LOCAL_ACTION = f"./{ACTION_PATH}"
ON_LAND = "#@on-land"
INIT_MARK = "learn-async init"
USES_RE = re.compile(
    r"uses:\s*(?P<repo>[\w.-]+/[\w.-]+)/\.github/actions/learn-async@(?P<sha>[0-9a-f]{40})"
    r"(?:\s*#\s*v(?P<version>\S+))?"
)


def template() -> str:
    return (
        resources.files("learn").joinpath("templates/learn-async.yml").read_text(encoding="utf-8")
    )


def render(uses: str, *, on_land: bool, generated: str) -> str:
    """The workflow text calling the action at ``uses``, with or without the on-land trigger."""
    lines = []
    for line in template().splitlines(keepends=True):
        body = line.rstrip("\n")
        if body.endswith(ON_LAND):
            if not on_land:
                continue
            line = body[: -len(ON_LAND)].rstrip() + "\n"
        lines.append(line)
    return "".join(lines).replace("@ACTION@", uses).replace("@GENERATED@", generated)


def render_self() -> str:
    """This repository's own workflow: the action through its local path, learning on land."""
    return render(
        LOCAL_ACTION,
        on_land=True,
        generated="Rendered from learn/templates/learn-async.yml (nox -s workflow); do not edit.",
    )


def render_adopter(pin: Pin, *, on_land: bool) -> str:
    generated = (
        f"Written by {INIT_MARK} {pin.version}; re-run it to update (it keeps your options)."
    )
    return render(pin.uses(), on_land=on_land, generated=generated)


@dataclass(frozen=True)
class Existing:
    """What an adopter's current workflow says: its pin and whether it learns on land."""

    repo: str
    sha: str
    version: str
    on_land: bool


def read_existing(text: str) -> Existing | None:
    """The pin and options of a workflow ``init`` wrote (None when it did not write it)."""
    if INIT_MARK not in text:
        return None
    m = USES_RE.search(text)
    on_land = bool(re.search(r"^\s*pull_request:", text, re.MULTILINE))
    if m is None:  # written by init before the action existed (pip-installed package)
        old = re.search(r"learn-async==([\w.]+)", text)
        return Existing("", "", old.group(1) if old else "", on_land)
    return Existing(m["repo"], m["sha"], m["version"] or "", on_land)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:4])


def _is_downgrade(old: Existing, pin: Pin) -> bool:
    if not old.version:
        return False
    if _version_key(pin.version) != _version_key(old.version):
        return _version_key(pin.version) < _version_key(old.version)
    if pin.checkout is None or not old.sha or old.sha == pin.sha:
        return False
    done = subprocess.run(  # the new commit is an ancestor of the pinned one: going back
        ["git", "-C", str(pin.checkout), "merge-base", "--is-ancestor", pin.sha, old.sha],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def init(repo: Path, pin: Pin, *, on_land: bool = False, force: bool = False) -> list[str]:
    """Write the caller workflow into ``repo``; return what changed, one line each.

    A re-run keeps options the current file has (the on-land trigger) and refuses to pin an
    older learn-async than the file has, unless ``force``.
    """
    if not (repo / ".git").exists():
        raise UsageError(f"{repo} is not the top of a git repository", fix="pass --repo PATH")
    changes: list[str] = []
    target = repo / WORKFLOW_PATH
    current = target.read_text(encoding="utf-8") if target.exists() else None
    old = read_existing(current) if current is not None else None
    if current is not None and old is None and not force:
        raise UsageError(
            f"{target} exists and was not written by {INIT_MARK}",
            fix="pass --force to replace it, or move it away",
        )
    if old is not None and not force and _is_downgrade(old, pin):
        raise UsageError(
            f"{WORKFLOW_PATH} pins learn-async v{old.version} ({old.sha[:12] or 'a package'}); "
            f"this is v{pin.version} ({pin.sha[:12]}), an older one",
            fix="upgrade learn-async first, or pass --force to go back",
        )
    keep_on_land = bool(old and old.on_land)
    text = render_adopter(pin, on_land=on_land or keep_on_land)
    if current != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changes.append(_describe(old, pin, on_land, keep_on_land, current is None))
    elif keep_on_land and not on_land:
        changes.append("kept the on-land trigger the workflow already has")
    changes += _remove_old_lockfile(repo)
    ignore = repo / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    if not {".learn/", "/.learn/", ".learn"} & set(lines):
        with ignore.open("a", encoding="utf-8") as fh:
            fh.write(("\n" if lines and lines[-1] else "") + ".learn/\n")
        changes.append("added .learn/ to .gitignore (learn-async's working folder)")
    return changes


def _describe(
    old: Existing | None, pin: Pin, on_land: bool, keep_on_land: bool, new_file: bool
) -> str:
    where = f"{pin.repo}@{pin.sha[:12]} (v{pin.version})"
    if new_file or old is None:
        land = ", learning when a plan's pull request is merged" if on_land else ""
        return f"wrote {WORKFLOW_PATH}: the learn-async action pinned to {where}{land}"
    parts = []
    if not old.sha:
        parts.append(
            f"replaced the pip-installed learn-async {old.version} by the action at {where}"
        )
    elif (old.repo, old.sha) != (pin.repo, pin.sha):
        parts.append(f"pin {old.repo}@{old.sha[:12]} (v{old.version}) → {where}")
    if on_land and not old.on_land:
        parts.append("added the on-land trigger")
    elif keep_on_land:
        parts.append("kept the on-land trigger")
    return f"updated {WORKFLOW_PATH}: " + ("; ".join(parts) or "re-rendered from the template")


def _remove_old_lockfile(repo: Path) -> list[str]:
    """Before the action, init copied the Claude Code lockfile; the action brings its own."""
    folder = repo / OLD_LOCK_DIR
    manifest = folder / "package.json"
    if not manifest.is_file() or "learn-async-claude-code" not in manifest.read_text("utf-8"):
        return []
    shutil.rmtree(folder)
    return [f"removed {OLD_LOCK_DIR}/ (the action installs Claude Code from its own lockfile)"]


if __name__ == "__main__":  # python -m learn.ci.workflow self PATH | adopter PATH [on-land]
    import sys

    mode, out = sys.argv[1], Path(sys.argv[2])
    if mode == "self":
        out.write_text(render_self(), encoding="utf-8")
    else:  # a sample adopter copy, for the linters
        sample = Pin("example/learn-async", "0123456789abcdef0123456789abcdef01234567")
        out.write_text(render_adopter(sample, on_land="on-land" in sys.argv[3:]), encoding="utf-8")
