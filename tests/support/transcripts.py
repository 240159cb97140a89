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
