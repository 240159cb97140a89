"""Finding the transcript files of a session and labelling its subagents.

Three subagent layouts exist (docs/transcript-format.md): 1.0.x inline ``isSidechain`` lines (handled by the
reader), 2.0.x flat ``agent-<hex>.jsonl`` beside the session, 2.1.x
``<sessionId>/subagents/agent-<id>.jsonl`` with a sibling ``agent-<id>.meta.json``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from learn.errors import TranscriptError, UsageError

__all__ = ["SessionFile", "discover", "encode_project_dir", "newest_local_session"]


@dataclass(frozen=True, slots=True)
class SessionFile:
    path: Path
    agent: str = ""  # "" for a main session file, else e.g. "subagent agent-a1b2 (Explore)"

    @property
    def is_main(self) -> bool:
        return not self.agent


def _is_agent_file(path: Path) -> bool:
    return path.name.startswith("agent-") or path.parent.name == "subagents"


def _agent_label(path: Path) -> str:
    label = f"subagent {path.stem}"
    meta_path = path.with_name(path.stem + ".meta.json")
    try:
        meta = orjson.loads(meta_path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return label
    if isinstance(meta, dict):
        kind = meta.get("agentType")
        desc = meta.get("description")
        extra = ", ".join(str(x) for x in (kind, desc) if isinstance(x, str) and x)
        if extra:
            label += f" ({extra[:80]})"
    return label


def _first_session_id(path: Path, max_lines: int = 20) -> str:
    """The sessionId of a 2.0.x flat agent file: its parent's session."""
    try:
        with path.open("rb") as fh:
            for _, raw in zip(range(max_lines), fh, strict=False):
                try:
                    entry = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("sessionId"), str):
                    return str(entry["sessionId"])
    except OSError:
        return ""
    return ""


def _subagents_of(main: Path) -> list[SessionFile]:
    found: list[SessionFile] = []
    nested = main.with_suffix("") / "subagents"  # 2.1.x
    if nested.is_dir():
        found += [SessionFile(p, _agent_label(p)) for p in sorted(nested.glob("*.jsonl"))]
    session_id = main.stem
    for flat in sorted(main.parent.glob("agent-*.jsonl")):  # 2.0.x
        if _first_session_id(flat) == session_id:
            found.append(SessionFile(flat, _agent_label(flat)))
    return found


def discover(paths: list[Path]) -> list[SessionFile]:
    """Expand ``--session`` arguments (files or directories) into labelled transcript files.

    A file brings its own subagent transcripts along; a directory contributes every ``*.jsonl``
    below it, main sessions first. Raises ``UsageError`` for a path that does not exist and
    ``TranscriptError`` when nothing is found.
    """
    result: list[SessionFile] = []
    seen: set[object] = set()

    def add(item: SessionFile) -> None:
        key = _identity(item.path)
        if key not in seen:
            seen.add(key)
            result.append(item)

    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise UsageError(
                f"session path not found: {path}", fix="pass an existing file or directory"
            )
        if path.is_file():
            if _is_agent_file(path):
                add(SessionFile(path, _agent_label(path)))
                continue
            add(SessionFile(path))
            for sub in _subagents_of(path):
                add(sub)
            continue
        files = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
        for p in files:
            if not _is_agent_file(p):
                add(SessionFile(p))
        for p in files:
            if _is_agent_file(p):
                add(SessionFile(p, _agent_label(p)))
    if not result:
        shown = ", ".join(str(p) for p in paths)
        raise TranscriptError(f"no .jsonl transcript found in {shown}")
    return result


def _identity(path: Path) -> object:
    """What tells a file from another, however it is named (a link, ``..``): its device and
    inode (one ``stat``, where resolving the path costs one per folder of it), or its resolved
    path where the file system has no inode numbers (0: FAT, some network shares) or the file
    cannot be looked at (a broken link: the reader reports it)."""
    try:
        st = path.stat()
    except OSError:
        return path.resolve()
    return (st.st_dev, st.st_ino) if st.st_ino else path.resolve()


def encode_project_dir(cwd: Path) -> list[str]:
    """Claude Code's directory names for a project, newest scheme first.

    2.1.x turns every non-alphanumeric character into '-'; older versions only / \\ . and :.
    """
    text = str(cwd)
    return list(dict.fromkeys([re.sub(r"[^a-zA-Z0-9]", "-", text), re.sub(r"[/\\.:]", "-", text)]))


def newest_local_session(repo: Path, claude_home: Path | None = None) -> Path:
    """The newest main transcript Claude Code wrote for ``repo`` on this machine."""
    base = claude_home or Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
    names = encode_project_dir(repo.resolve())
    project = base / "projects" / names[0]
    candidates = [
        p
        for name in names
        for p in (base / "projects" / name).glob("*.jsonl")
        if not _is_agent_file(p)
    ]
    if not candidates:
        raise TranscriptError(
            f"no local Claude Code session for {repo} (looked in {project})",
            fix="pass --session PATH to a transcript",
        )
    return max(candidates, key=lambda p: p.stat().st_mtime)
