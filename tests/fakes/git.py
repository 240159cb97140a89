"""FakeGit: records what the steps ask of git and can be told to fail (fast unit tests)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from learn.gateways.git import Identity


@dataclass
class FakeGit:
    """An in-memory stand-in: records calls, keeps branches in a dict, fails on request.

    ``fail = {"push": GitError("rejected")}`` makes that method raise. Worktrees are plain
    directories; ``changed_paths`` lists the files written under them since ``add_worktree``.
    """

    repo: Path
    trunk_name: str = "main"
    branches: dict[str, str] = field(default_factory=lambda: {"main": "0" * 40})
    fail: dict[str, Exception] = field(default_factory=dict)
    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    committed: dict[Path, set[str]] = field(default_factory=dict)
    checked_out: dict[Path, str] = field(default_factory=dict)
    pushed: list[str] = field(default_factory=list)
    remote_branches: dict[str, str] = field(default_factory=dict)  # what fetch_branch finds
    touched_by_people: set[str] = field(default_factory=set)  # commits not only the bot's

    def _record(self, name: str, *args: object) -> None:
        self.calls.append((name, args))
        if name in self.fail:
            raise self.fail[name]

    def trunk(self) -> str:
        self._record("trunk")
        return self.trunk_name

    def start_point(self, trunk: str) -> str:
        self._record("start_point", trunk)
        return self.branches[trunk]

    def branch_exists(self, name: str) -> bool:
        return name in self.branches

    def remote_url(self, remote: str = "origin") -> str | None:
        return None

    def ignore_locally(self, pattern: str) -> None:
        self._record("ignore_locally", pattern)

    def add_worktree(self, path: Path, branch: str, start: str) -> None:
        self._record("add_worktree", path, branch, start)
        path.mkdir(parents=True, exist_ok=True)
        self.branches.setdefault(branch, start)
        self.committed.setdefault(path, set())
        self.checked_out[path] = branch

    def remove_worktree(self, path: Path) -> None:
        self._record("remove_worktree", path)
        shutil.rmtree(path, ignore_errors=True)

    def delete_branch(self, branch: str) -> None:
        self._record("delete_branch", branch)
        self.branches.pop(branch, None)

    def changed_paths(self, worktree: Path) -> list[str]:
        done = self.committed.get(worktree, set())
        files = (p.relative_to(worktree).as_posix() for p in worktree.rglob("*") if p.is_file())
        return sorted(p for p in files if p not in done)

    def show(self, worktree: Path, rev_path: str) -> str | None:
        return None

    def commits_since(self, base: str, ref: str) -> int:
        return 0 if self.branches.get(ref, base) == base else 1

    def commit(self, worktree: Path, paths: list[str], message: str, who: Identity) -> str:
        self._record("commit", paths, message)
        self.committed.setdefault(worktree, set()).update(self.changed_paths(worktree))
        sha = f"{len(self.calls):040x}"
        self.branches[self.checked_out[worktree]] = sha
        return sha

    def push(
        self, worktree: Path, remote: str, branch: str, env: Mapping[str, str] | None = None
    ) -> None:
        self._record("push", remote, branch)
        self.pushed.append(branch)

    def fetch_branch(
        self, remote: str, branch: str, env: Mapping[str, str] | None = None
    ) -> str | None:
        self._record("fetch_branch", remote, branch)
        return self.remote_branches.get(branch)

    def only_authored_by(self, base: str, ref: str, email: str) -> bool:
        self._record("only_authored_by", base, ref, email)
        return ref not in self.touched_by_people

    def force_push(
        self,
        worktree: Path,
        remote: str,
        branch: str,
        lease: str,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._record("force_push", remote, branch, lease)
        self.pushed.append(branch)

    def discard_changes(self, worktree: Path) -> None:
        self._record("discard_changes", worktree)
        done = self.committed.get(worktree, set())
        for path in sorted(worktree.rglob("*"), reverse=True):
            rel = path.relative_to(worktree).as_posix()
            if path.is_file() and rel not in done:
                path.unlink()
