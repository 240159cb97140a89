"""Builders of synthetic transcript lines in Claude Code's JSONL shape."""

from __future__ import annotations

from pathlib import Path

import orjson


def write_jsonl(path: Path, entries: list[object], raw_tail: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in entries) + raw_tail)
    return path


def user(text: object, uuid: str, **extra: object) -> dict[str, object]:
    return {
        "type": "user",
        "uuid": uuid,
        "sessionId": "s-1",
        "cwd": "/repo",
        "message": {"role": "user", "content": text},
        **extra,
    }


def assistant(
    block: dict[str, object], uuid: str, msg_id: str, **extra: object
) -> dict[str, object]:
    return {
        "type": "assistant",
        "uuid": uuid,
        "sessionId": "s-1",
        "cwd": "/repo",
        "message": {
            "id": msg_id,
            "role": "assistant",
            "model": "claude-x",
            "content": [block],
            "usage": extra.pop("usage", {}),
        },
        **extra,
    }


def tool_result(
    tool_id: str, content: object, uuid: str, is_error: bool = False
) -> dict[str, object]:
    block = {
        "type": "tool_result",
        "tool_use_id": tool_id,
        "content": content,
        "is_error": is_error,
    }
    return user([block], uuid)


def fix_session(path: Path, session_id: str, *, command: str, error: str, file: str) -> Path:
    """A real-shaped session: a prompt, ``command`` failing with ``error``, an edit of ``file``,
    ``command`` passing, then a user correction and a last passing run."""
    uid = iter(f"{session_id[:8]}-{n:04d}-4000-8000-000000000000" for n in range(100))

    def ids(entry: dict[str, object]) -> dict[str, object]:
        return {**entry, "sessionId": session_id, "timestamp": "2026-11-23T10:00:00.000Z"}

    def call(name: str, tool_id: str, args: dict[str, object]) -> dict[str, object]:
        block = {"type": "tool_use", "id": tool_id, "name": name, "input": args}
        return ids(assistant(block, next(uid), f"msg_{tool_id}"))

    def say(text: str) -> dict[str, object]:
        return ids(assistant({"type": "text", "text": text}, next(uid), f"msg_{next(uid)}"))

    entries = [
        ids(user(f"Make `{command}` pass: {file} needs fixing.", next(uid))),
        call("Bash", "t1", {"command": command}),
        ids(tool_result("t1", f"{error}\nexit code 1", next(uid), is_error=True)),
        say(f"The run fails because {file} is missing a piece; I'll fix {file}."),
        call("Edit", "t2", {"file_path": f"/repo/{file}", "old_string": "a", "new_string": "b"}),
        ids(tool_result("t2", f"The file /repo/{file} has been updated.", next(uid))),
        call("Bash", "t3", {"command": command}),
        ids(tool_result("t3", "all checks passed", next(uid))),
        ids(user(f"No, don't edit {file} by hand next time - regenerate it instead.", next(uid))),
        call("Edit", "t4", {"file_path": f"/repo/{file}", "old_string": "b", "new_string": "c"}),
        ids(tool_result("t4", f"The file /repo/{file} has been updated.", next(uid))),
        call("Bash", "t5", {"command": command}),
        ids(tool_result("t5", "all checks passed", next(uid))),
        say("Done: the checks pass."),
    ]
    return write_jsonl(path, entries)


# (command, error, file) of four fix sessions; the two pytest ones grow the same topic doc.
SESSIONS = [
    (
        "python -m pytest -q tests/test_parse.py",
        "ImportError: cannot import name 'parse'",
        "pkg/parse.py",
    ),
    ("npm run build", "error TS2304: Cannot find name 'Widget'", "src/widget.ts"),
    ("cargo test --all", "error[E0425]: cannot find value `limit` in this scope", "src/lib.rs"),
    ("python -m pytest -q tests/test_cli.py", "AssertionError: assert 2 == 0", "pkg/cli.py"),
]
