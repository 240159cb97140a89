"""State passed between the tasks, which run as separate processes (as CI runs them).

Everything of one learn run lives in ``<repo>/.learn/runs/<key>/``: ``state.json``, the
digest, the engine's log, the worktree the docs are written in, and ``report.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from learn.errors import UsageError

__all__ = ["STATE_DIR", "RunState", "latest_key", "load", "local_key", "plans_key", "run_dir"]

STATE_DIR = ".learn"


@dataclass
class RunState:
    key: str
    repo: str
    branch: str
    trunk: str
    base: str  # the commit the branch started from
    issue: int | None = None
    run_id: str = ""
    sessions: list[str] = field(default_factory=list)
    status: str = "pending"  # pending | learned | nothing_to_learn | published | skipped | failed
    title: str = ""  # the plan issue's title
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # {run_id, id, name}
    engine: str = ""
    docs: list[str] = field(default_factory=list)  # doc paths the engine created/updated
    commit: str = ""
    operation: str = ""  # created | updated | commented | skipped | committed
    pushed: bool = False
    pr_number: int | None = None
    pr_url: str = ""
    reused_pr: bool = False  # the branch of the plan's open learn PR, updated in place
    lease: str = ""  # the branch's commit on origin, replaced by a force-push (bot-only branches)
    error: str = ""
    digest: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)  # the engine's turns, tokens and cost
    learned: bool = False  # run-learn completed (publish refuses to run before)
    created_branch: bool = False  # this run created its branch (a failed local run removes it)
    dry_run: bool = False  # a dry run: everything it made is removed at its end

    # consolidated runs (several plans, one PR): one entry per plan, see learn.steps.consolidated
    plans: list[dict[str, Any]] = field(default_factory=list)

    @property
    def run_dir(self) -> Path:
        return run_dir(Path(self.repo), self.key)

    @property
    def worktree(self) -> Path:
        return self.run_dir / "worktree"

    @property
    def finished(self) -> bool:
        return self.status in ("published", "skipped")

    @property
    def digest_dir(self) -> Path:
        return self.run_dir / "digest"

    def save(self) -> None:
        """Write state.json atomically (a unique temporary name: concurrent writers never
        collide, and a failed write leaves the previous state and no partial file)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state.", suffix=".tmp", dir=self.run_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))
            os.replace(tmp, self.run_dir / "state.json")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def run_dir(repo: Path, key: str) -> Path:
    return repo / STATE_DIR / "runs" / key


def local_key(sessions: list[Path], run_id: str | None) -> str:
    """``local-<id>``: the given run id, else a stable hash of the session files.

    A stable key means learning the same session again reuses its branch and updates its docs
    in place instead of starting over.
    """
    if run_id:
        return f"local-{run_id}"
    digest = hashlib.sha256()
    for path in sorted(str(p.resolve()) for p in sessions):
        digest.update(path.encode() + b"\0")
    return f"local-{digest.hexdigest()[:10]}"


def plans_key(spec: str) -> str:
    """``plans-<id>``: a stable key for a consolidated run over the plans ``spec`` selects."""
    return f"plans-{hashlib.sha256(spec.encode()).hexdigest()[:10]}"


def load(repo: Path, key: str) -> RunState:
    path = run_dir(repo, key) / "state.json"
    if not path.is_file():
        raise UsageError(
            f"no learn run {key!r} in {repo / STATE_DIR}",
            fix="run `invoke checkout-branch` with the same --issue/--session first",
        )
    try:
        data = orjson.loads(path.read_bytes())
        return RunState(**data)
    except (orjson.JSONDecodeError, TypeError, OSError) as exc:
        raise UsageError(
            f"{path} is damaged ({exc})", fix="delete it and run checkout-branch again"
        ) from None


def latest_key(repo: Path) -> str:
    """The most recently started run, for a task called with neither --issue nor --session."""
    runs = [p for p in (repo / STATE_DIR / "runs").glob("*/state.json")]
    if not runs:
        raise UsageError("no learn run to continue", fix="pass --issue N or --session PATH")
    return max(runs, key=lambda p: p.stat().st_mtime).parent.name
