"""The git gateway: every git command the project runs goes through :class:`Git`.

The learn work happens in a separate worktree (``.learn/runs/<key>/worktree``) so a person's
checkout and uncommitted work are never touched. :class:`GitLike` is what the steps need of it
(``tests/fakes/git.py`` has the in-memory fake).
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import sh

from learn.errors import GitError, UsageError

__all__ = ["Git", "GitLike", "Identity", "token_env"]


@dataclass(frozen=True, slots=True)
class Identity:
    name: str = "github-actions[bot]"
    email: str = "41898282+github-actions[bot]@users.noreply.github.com"


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    hints = [ln for ln in lines if not ln.startswith("hint:")]
    return (hints or lines or ["(no output)"])[-1]


class GitLike(Protocol):
    """What the steps need of git: :class:`Git`, or a fake in unit tests."""

    def trunk(self) -> str: ...
    def start_point(self, trunk: str) -> str: ...
    def branch_exists(self, name: str) -> bool: ...
    def remote_url(self, remote: str = "origin") -> str | None: ...
    def fetch(self, remote: str, branch: str, env: dict[str, str] | None = None) -> None: ...
    def ignore_locally(self, pattern: str) -> None: ...
    def add_worktree(self, path: Path, branch: str, start: str) -> None: ...
    def remove_worktree(self, path: Path) -> None: ...
    def delete_branch(self, branch: str) -> None: ...
    def delete_remote_branch(
        self, remote: str, branch: str, env: dict[str, str] | None = None
    ) -> None: ...
    def changed_paths(self, worktree: Path) -> list[str]: ...
    def own_commits(self, branch: str) -> int: ...
    def show(self, worktree: Path, rev_path: str) -> str | None: ...
    def commits_since(self, base: str, ref: str) -> int: ...
    def commit(self, worktree: Path, paths: list[str], message: str, who: Identity) -> str: ...
    def push(
        self, worktree: Path, remote: str, branch: str, env: dict[str, str] | None = None
    ) -> None: ...
    def fetch_branch(
        self, remote: str, branch: str, env: dict[str, str] | None = None
    ) -> str | None: ...
    def only_authored_by(self, base: str, ref: str, email: str) -> bool: ...
    def force_push(
        self,
        worktree: Path,
        remote: str,
        branch: str,
        lease: str,
        env: dict[str, str] | None = None,
    ) -> None: ...
    def discard_changes(self, worktree: Path) -> None: ...


def token_env(env: Mapping[str, str]) -> dict[str, str]:
    """Hand the GitHub token to git for one command through the environment, never .git/config."""
    token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN")
    if not token:
        return {}
    server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }


def _outside_our_worktrees(top: Path) -> Path:
    """Inside one of learn-async's own worktrees (``<repo>/.learn/runs/<key>/worktree``), the
    repository to learn into is ``<repo>``, not the worktree."""
    parts = top.parts
    for i in range(len(parts) - 3):
        if parts[i : i + 2] == (".learn", "runs") and parts[i + 3] == "worktree":
            return Path(*parts[:i])
    return top


class Git:
    """Real git, run with ``sh``; failures become :class:`GitError` naming the command."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.last_code = 0  # exit code of the last command run with extra ``ok_codes``

    # -- plumbing ------------------------------------------------------------------------
    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> str:
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        name = args[2] if args[0] == "-c" else args[0]
        try:
            cmd = sh.git(
                *args,
                _cwd=str(cwd or self.repo),
                _env=full_env,
                _tty_out=False,
                _ok_code=list(ok_codes),
                _return_cmd=True,
            )
            self.last_code = int(cmd.exit_code)
            out = str(cmd)
        except sh.ErrorReturnCode as exc:
            stderr = exc.stderr.decode("utf-8", "replace") or exc.stdout.decode("utf-8", "replace")
            raise GitError(f"git {name} failed: {_last_line(stderr)}") from None
        except sh.CommandNotFound:
            raise UsageError("git is not installed", fix="install git and try again") from None
        except OSError as exc:  # the folder it was to run in vanished (another process removed it)
            raise GitError(
                f"git {name} could not start in {cwd or self.repo}: {exc.strerror}"
            ) from None
        return str(out)

    def ok(self, *args: str, cwd: Path | None = None) -> bool:
        try:
            self.run(*args, cwd=cwd)
        except GitError:
            return False
        return True

    # -- queries -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path) -> Git:
        """The repository containing ``path``; a clear error when there is none."""
        if not path.is_dir():
            raise UsageError(f"not a directory: {path}", fix="pass --repo PATH to a git repository")
        try:
            top = Path(Git(path).run("rev-parse", "--show-toplevel").strip())
        except GitError:
            raise UsageError(
                f"{path} is not inside a git repository", fix="run from a repository or pass --repo"
            ) from None
        return cls(_outside_our_worktrees(top))

    def rev(self, ref: str) -> str | None:
        try:
            return self.run("rev-parse", "--verify", "--quiet", ref + "^{commit}").strip()
        except GitError:
            return None

    def branch_exists(self, name: str) -> bool:
        return self.rev(f"refs/heads/{name}") is not None

    def trunk(self) -> str:
        """The default branch: origin's HEAD, else init.defaultBranch, main or master."""
        try:
            ref = self.run("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").strip()
            return ref.removeprefix("refs/remotes/origin/")
        except GitError:
            pass
        candidates = []
        with contextlib.suppress(GitError):
            candidates.append(self.run("config", "init.defaultBranch").strip())
        candidates += ["main", "master", "trunk"]
        for name in candidates:
            if name and (self.branch_exists(name) or self.rev(f"refs/remotes/origin/{name}")):
                return name
        self._no_commits_yet()
        raise GitError(
            "cannot tell the trunk branch (no origin/HEAD, no main or master)",
            fix="pass --trunk NAME",
        )

    def start_point(self, trunk: str) -> str:
        """Where a learn branch starts: origin's trunk when known, else the local one."""
        for ref in (f"refs/remotes/origin/{trunk}", f"refs/heads/{trunk}"):
            sha = self.rev(ref)
            if sha:
                return sha
        self._no_commits_yet()
        raise GitError(f"trunk branch {trunk!r} does not exist", fix="pass --trunk NAME")

    def _no_commits_yet(self) -> None:
        if not self.run("rev-list", "-n", "1", "--all").strip():
            raise GitError(
                f"the repository {self.repo} has no commits yet",
                fix="commit something to the trunk first (learned docs go on a branch from it)",
            )

    def remote_url(self, remote: str = "origin") -> str | None:
        try:
            return self.run("remote", "get-url", remote).strip()
        except GitError:
            return None

    def changed_paths(self, worktree: Path) -> list[str]:
        """Paths changed in ``worktree`` against its HEAD, untracked files included."""
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all", cwd=worktree)
        paths: list[str] = []
        entries = out.split("\0")
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            paths.append(entry[3:])
            if entry[0] in "RC":  # renames carry the source path next
                i += 1
        return sorted(paths)

    def show(self, worktree: Path, rev_path: str) -> str | None:
        try:
            return self.run("show", rev_path, cwd=worktree)
        except GitError:
            return None

    def commits_since(self, base: str, ref: str) -> int:
        return int(self.run("rev-list", "--count", f"{base}..{ref}").strip() or 0)

    def own_commits(self, branch: str) -> int:
        """Commits on ``branch`` that no other branch (local or remote-tracking) has."""
        out = self.run(
            "rev-list",
            "--count",
            f"refs/heads/{branch}",
            f"--exclude={branch}",
            "--not",
            "--branches",
            "--remotes",
        )
        return int(out.strip() or 0)

    def branches(self, pattern: str) -> list[str]:
        out = self.run("for-each-ref", "--format=%(refname:short)", f"refs/heads/{pattern}")
        return out.split()

    def worktrees(self) -> dict[Path, str]:
        """Every registered worktree (the main one included): path → checked-out branch or ""."""
        found: dict[Path, str] = {}
        path: Path | None = None
        for line in self.run("worktree", "list", "--porcelain").splitlines():
            if line.startswith("worktree "):
                path = Path(line.removeprefix("worktree "))
                found[path] = ""
            elif line.startswith("branch ") and path is not None:
                found[path] = line.removeprefix("branch refs/heads/")
        return found

    def common_dir(self) -> Path:
        out = Path(self.run("rev-parse", "--git-common-dir").strip())
        return out if out.is_absolute() else (self.repo / out).resolve()

    # -- changes -------------------------------------------------------------------------
    def ignore_locally(self, pattern: str) -> None:
        """Add ``pattern`` to .git/info/exclude (never touches tracked files)."""
        exclude = Path(self.run("rev-parse", "--git-path", "info/exclude").strip())
        if not exclude.is_absolute():
            exclude = self.repo / exclude
        lines = exclude.read_text().splitlines() if exclude.exists() else []
        if pattern not in lines:
            exclude.parent.mkdir(parents=True, exist_ok=True)
            with exclude.open("a") as fh:
                fh.write(("\n" if lines and lines[-1] else "") + pattern + "\n")

    def add_worktree(self, path: Path, branch: str, start: str) -> None:
        """Check ``branch`` out at ``path``, creating it from ``start`` when new.

        Only this worktree is repaired when stale (never ``git worktree prune``, which would
        disconnect a person's other worktree that is only temporarily missing), and the
        repository's hooks do not run in it (it is ours, and only docs are written there).
        """
        if (path / ".git").exists():
            return
        self.forget_worktree(path)
        if path.exists():
            shutil.rmtree(path)
        elsewhere = next(
            (p for p, b in self.worktrees().items() if b == branch and p != path), None
        )
        if elsewhere is not None:
            raise GitError(
                f"branch {branch} is checked out in {elsewhere}",
                fix=f"switch that checkout to another branch (git -C {elsewhere} switch -) and run "
                "again; learn-async works on its branch in a worktree of its own",
            )
        new = () if self.branch_exists(branch) else ("-b", branch)
        where = (str(path), branch) if not new else (str(path), start)
        self.run("-c", "core.hooksPath=/dev/null", "worktree", "add", "--quiet", *new, *where)

    def remove_worktree(self, path: Path) -> None:
        if path.exists():
            self.ok("worktree", "remove", "--force", str(path))
            shutil.rmtree(path, ignore_errors=True)
        self.forget_worktree(path)

    def forget_worktree(self, path: Path) -> None:
        """Drop git's record of the worktree at ``path`` if its folder is gone (ours only)."""
        if (path / ".git").exists():
            return
        admin = self.common_dir() / "worktrees"
        if not admin.is_dir():
            return
        for entry in admin.iterdir():
            try:
                gitdir = Path((entry / "gitdir").read_text().strip())
            except OSError:
                continue
            if gitdir.parent == path or gitdir.parent.resolve() == path.resolve():
                shutil.rmtree(entry, ignore_errors=True)

    def delete_branch(self, branch: str) -> None:
        if self.branch_exists(branch):
            self.run("branch", "-D", branch)

    def commit(self, worktree: Path, paths: list[str], message: str, who: Identity) -> str:
        self.run("add", "--all", "--", *paths, cwd=worktree)
        who_env = {  # the environment beats -c user.name, so set the identity there
            "GIT_AUTHOR_NAME": who.name,
            "GIT_AUTHOR_EMAIL": who.email,
            "GIT_COMMITTER_NAME": who.name,
            "GIT_COMMITTER_EMAIL": who.email,
        }
        self.run("commit", "--quiet", "--no-verify", "-m", message, cwd=worktree, env=who_env)
        return self.run("rev-parse", "HEAD", cwd=worktree).strip()

    def push(
        self, worktree: Path, remote: str, branch: str, env: Mapping[str, str] | None = None
    ) -> None:
        self.run("push", "--quiet", remote, f"HEAD:refs/heads/{branch}", cwd=worktree, env=env)

    def fetch(self, remote: str, branch: str, env: Mapping[str, str] | None = None) -> None:
        ref = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
        self.run("fetch", "--quiet", "--no-write-fetch-head", remote, ref, env=env)

    def delete_remote_branch(
        self, remote: str, branch: str, env: Mapping[str, str] | None = None
    ) -> None:
        """Delete ``branch`` on ``remote`` if it is there (a no-op when it is not)."""
        listed = self.run("ls-remote", "--heads", remote, f"refs/heads/{branch}", env=env)
        if listed.strip():
            self.run("push", "--quiet", remote, f":refs/heads/{branch}", env=env)

    # -- refresh and re-learn (rewriting bot-only learn branches) -------------------------------
    def fetch_branch(
        self, remote: str, branch: str, env: Mapping[str, str] | None = None
    ) -> str | None:
        """Fetch ``remote``'s ``branch`` into ``refs/remotes/<remote>/<branch>``; its commit, or
        None when the remote has no such branch."""
        if not self.run("ls-remote", "--heads", remote, f"refs/heads/{branch}", env=env).strip():
            return None
        self.run(
            "fetch",
            "--quiet",
            remote,
            f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}",
            env=env,
        )
        return self.rev(f"refs/remotes/{remote}/{branch}")

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return self.run("merge-base", a, b).strip() or None
        except GitError:
            return None

    def merges_cleanly(self, into: str, other: str) -> bool:
        """Whether ``git merge other`` on ``into`` would succeed without a conflict (no checkout)."""
        self.run(
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            into,
            other,
            ok_codes=(0, 1),
        )
        return self.last_code == 0

    def only_authored_by(self, base: str, ref: str, email: str) -> bool:
        """Whether every commit in ``base..ref`` was authored and committed by ``email``."""
        out = self.run("log", "--format=%ae%x00%ce", f"{base}..{ref}")
        people = {who.lower() for line in out.splitlines() for who in line.split("\0") if who}
        return people <= {email.lower()}

    def changed_between(self, a: str, b: str, path: str) -> list[str]:
        out = self.run("diff", "--name-only", "--no-renames", "-z", a, b, "--", path)
        return sorted(p for p in out.split("\0") if p)

    def file_at(self, rev: str, path: str) -> str | None:
        """The text of ``path`` at ``rev`` (None when it is not there)."""
        return self.show(self.repo, f"{rev}:{path}")

    def message(self, rev: str) -> str:
        return self.run("log", "-1", "--format=%B", rev).strip()

    def merge_text(self, base: str, ours: str, theirs: str) -> str:
        """A line-based three-way merge in which a conflict keeps both sides (ours first)."""
        with tempfile.TemporaryDirectory(prefix="learn-merge-") as tmp:
            files = []
            for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
                path = Path(tmp) / name
                path.write_bytes(text.encode("utf-8"))
                files.append(str(path))
            return self.run("merge-file", "-p", "--union", *files, ok_codes=tuple(range(128)))

    def discard_changes(self, worktree: Path) -> None:
        """Back to the worktree's last commit: uncommitted and untracked files go."""
        self.run("reset", "--quiet", "--hard", "HEAD", cwd=worktree)
        self.run("clean", "-fdq", cwd=worktree)

    def add_detached_worktree(self, path: Path, start: str) -> None:
        self.remove_worktree(path)
        self.run("worktree", "add", "--quiet", "--detach", str(path), start)

    def head(self, worktree: Path) -> str:
        return self.run("rev-parse", "HEAD", cwd=worktree).strip()

    def local_branches(self, pattern: str) -> list[str]:
        out = self.run("for-each-ref", "--format=%(refname:short)", f"refs/heads/{pattern}")
        return sorted(out.split())

    def checked_out_at(self, branch: str) -> Path | None:
        """The worktree that has ``branch`` checked out, if any."""
        current: Path | None = None
        for line in self.run("worktree", "list", "--porcelain").splitlines():
            if line.startswith("worktree "):
                current = Path(line.removeprefix("worktree "))
            elif line == f"branch refs/heads/{branch}":
                return current
        return None

    def move_branch(self, branch: str, new: str, old: str) -> None:
        """Point ``branch`` at ``new``, only if it still points at ``old``."""
        self.run("update-ref", "-m", "learn-async refresh", f"refs/heads/{branch}", new, old)

    def fast_forward(self, worktree: Path, to: str) -> None:
        self.run("merge", "--ff-only", "--quiet", to, cwd=worktree)

    def force_push(
        self,
        worktree: Path,
        remote: str,
        branch: str,
        lease: str,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Replace ``branch`` on ``remote`` with HEAD, only if it is still at ``lease``."""
        self.run(
            "push",
            "--quiet",
            f"--force-with-lease=refs/heads/{branch}:{lease}",
            remote,
            f"HEAD:refs/heads/{branch}",
            cwd=worktree,
            env=env,
        )
