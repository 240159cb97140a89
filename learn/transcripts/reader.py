"""Streaming reader for Claude Code session transcripts (JSONL).

The format is undocumented and changes between versions (see docs/transcript-format.md), so the reader is
defensive: it streams line by line (files reach gigabytes), never raises on a line, counts what it
skipped, drops noise entries, deduplicates entries by ``uuid`` across files and joins the several
lines one API response is written as (they share ``message.id``).

It yields :class:`Message` objects: one per user line, one per assistant API response, one per
meaningful system or summary line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

# Entry types that carry nothing a reader of the session needs (docs/transcript-format.md).
NOISE_TYPES = frozenset(
    {
        "file-history-snapshot",
        "queue-operation",
        "progress",
        "attachment",
        "last-prompt",
        "custom-title",
        "ai-title",
        "agent-name",
        "mode",
        "permission-mode",
        "pr-link",
        "teleported-from",
        "agent-setting",
    }
)
# System subtypes worth keeping; the rest (turn_duration, stop_hook_summary, ...) is noise.
KEPT_SYSTEM_SUBTYPES = frozenset({"compact_boundary", "microcompact_boundary", "api_error"})


@dataclass(slots=True)
class Block:
    """One content block, normalised across versions."""

    kind: str  # text | thinking | tool_use | tool_result | image
    text: str = ""
    name: str = ""  # tool name (tool_use)
    input: dict[str, Any] = field(default_factory=dict)  # tool input (tool_use)
    tool_id: str = ""  # tool_use id, or the tool_use_id a result answers
    is_error: bool = False  # tool_result
    images: int = 0  # images inside a tool_result


@dataclass(slots=True)
class Message:
    """A user line, an assistant response (joined), or a kept system/summary line."""

    role: str  # user | assistant | system | summary
    blocks: list[Block]
    uuid: str = ""
    session_id: str = ""
    timestamp: str = ""
    cwd: str = ""
    agent: str = ""  # "" for the main thread, else a subagent label
    msg_id: str = ""
    model: str = ""
    is_meta: bool = False
    is_compact_summary: bool = False
    is_api_error: bool = False
    subtype: str = ""  # system subtype
    usage: dict[str, Any] = field(default_factory=dict)
    # tool-specific structured output of a user line (exit codes, file paths, ...)
    tool_use_result: Any = None


@dataclass(slots=True)
class ReadStats:
    files: int = 0
    bytes_in: int = 0
    lines: int = 0
    kept: int = 0
    noise: int = 0
    duplicates: int = 0
    skipped: int = 0  # unparseable or not a JSON object
    repaired: int = 0  # lines with invalid UTF-8 that were decoded with replacement
    skipped_examples: list[str] = field(default_factory=list)

    def note_skip(self, path: Path, lineno: int, why: str) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < 5:
            self.skipped_examples.append(f"{path.name}:{lineno}: {why}")


def _loads(raw: bytes, stats: ReadStats) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson rejects invalid UTF-8 outright; decode with replacement and try once more.
        text = raw.decode("utf-8", errors="replace")
        if "\ufffd" not in text:
            raise
        value = orjson.loads(text)
        stats.repaired += 1
        return value


def _text_of(content: Any) -> tuple[str, int]:
    """Text of a tool_result's content (string or list of blocks) and its image count."""
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return ("" if content is None else str(content)), 0
    parts: list[str] = []
    images = 0
    for item in content:
        if isinstance(item, dict):
            if item.get("type") == "image":
                images += 1
            elif isinstance(item.get("text"), str):
                parts.append(item["text"])
        elif isinstance(item, str):
            parts.append(item)
    return "\n".join(parts), images


def _blocks(content: Any) -> list[Block]:
    if isinstance(content, str):
        return [Block("text", text=content)] if content else []
    if not isinstance(content, list):
        return []
    blocks: list[Block] = []
    for item in content:
        if isinstance(item, str):
            blocks.append(Block("text", text=item))
            continue
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "text" and isinstance(item.get("text"), str):
            blocks.append(Block("text", text=item["text"]))
        elif kind == "thinking":
            thought = item.get("thinking")
            if isinstance(thought, str) and thought.strip():
                blocks.append(Block("thinking", text=thought))
        elif kind == "tool_use":
            tool_input = item.get("input")
            blocks.append(
                Block(
                    "tool_use",
                    name=str(item.get("name") or "?"),
                    input=tool_input if isinstance(tool_input, dict) else {},
                    tool_id=str(item.get("id") or ""),
                )
            )
        elif kind == "tool_result":
            text, images = _text_of(item.get("content"))
            blocks.append(
                Block(
                    "tool_result",
                    text=text,
                    tool_id=str(item.get("tool_use_id") or ""),
                    is_error=item.get("is_error") is True,
                    images=images,
                )
            )
        elif kind == "image":
            blocks.append(Block("image"))
    return blocks


def _message(entry: dict[str, Any], agent: str) -> Message | None:
    """Normalise one parsed line; None for noise."""
    kind = entry.get("type")
    common: dict[str, Any] = {
        "uuid": str(entry.get("uuid") or ""),
        "session_id": str(entry.get("sessionId") or ""),
        "timestamp": str(entry.get("timestamp") or ""),
        "cwd": str(entry.get("cwd") or ""),
        "agent": agent or ("sidechain" if entry.get("isSidechain") is True else ""),
    }
    if kind in ("user", "assistant"):
        msg = entry.get("message")
        if not isinstance(msg, dict):
            msg = {"content": msg} if isinstance(msg, str) else {}
        model = str(msg.get("model") or "")
        usage = msg.get("usage")
        return Message(
            role=kind,
            blocks=_blocks(msg.get("content")),
            msg_id=str(msg.get("id") or "") if kind == "assistant" else "",
            model=model,
            is_meta=entry.get("isMeta") is True,
            is_compact_summary=entry.get("isCompactSummary") is True,
            is_api_error=entry.get("isApiErrorMessage") is True or model == "<synthetic>",
            usage=usage if isinstance(usage, dict) else {},
            tool_use_result=entry.get("toolUseResult"),
            **common,
        )
    if kind == "system":
        subtype = str(entry.get("subtype") or "")
        if subtype not in KEPT_SYSTEM_SUBTYPES:
            return None
        text = entry.get("content")
        if subtype == "compact_boundary":
            meta = entry.get("compactMetadata")
            meta = meta if isinstance(meta, dict) else {}
            text = f"context compacted (trigger: {meta.get('trigger', '?')}, "
            text += f"tokens before: {meta.get('preTokens', '?')})"
        elif subtype == "api_error":
            err = entry.get("error")
            text = text or (orjson.dumps(err).decode() if err is not None else "API error")
        return Message(
            role="system",
            blocks=[Block("text", text=str(text or subtype))],
            subtype=subtype,
            **common,
        )
    if kind == "summary":
        summary = entry.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            return None
        return Message(role="summary", blocks=[Block("text", text=summary)], **common)
    return None


class _Joiner:
    """Joins the lines of one assistant response (shared ``message.id``).

    Tool results can be written between two lines of the same response; they are held back and
    emitted right after the joined response, so order stays readable and nothing is lost.
    """

    def __init__(self) -> None:
        self.pending: Message | None = None
        self.deferred: list[Message] = []

    def push(self, msg: Message) -> Iterator[Message]:
        pending = self.pending
        if pending is not None and msg.role == "assistant" and msg.msg_id == pending.msg_id:
            pending.blocks.extend(msg.blocks)
            if msg.usage:
                pending.usage = msg.usage  # usage grows across lines: keep the last
            return
        if pending is not None and msg.role == "user" and not msg.is_meta and _only_results(msg):
            self.deferred.append(msg)
            if len(self.deferred) >= 64:  # bound what is held back
                yield from self.flush()
            return
        yield from self.flush()
        if msg.role == "assistant" and msg.msg_id:
            self.pending = msg
        else:
            yield msg

    def flush(self) -> Iterator[Message]:
        if self.pending is not None:
            yield self.pending
            self.pending = None
        yield from self.deferred
        self.deferred = []


def _only_results(msg: Message) -> bool:
    return bool(msg.blocks) and all(b.kind == "tool_result" for b in msg.blocks)


def read_file(path: Path, stats: ReadStats, seen: set[str], agent: str = "") -> Iterator[Message]:
    """Stream the messages of one JSONL file. Never raises on content; OSError propagates."""
    joiner = _Joiner()
    stats.files += 1
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            stats.bytes_in += len(raw)
            raw = raw.strip()
            if not raw:
                continue
            stats.lines += 1
            try:
                entry = _loads(raw, stats)
            except (orjson.JSONDecodeError, ValueError):
                stats.note_skip(path, lineno, "not valid JSON (truncated or binary line)")
                continue
            if not isinstance(entry, dict):
                stats.note_skip(path, lineno, "not a JSON object")
                continue
            uuid = entry.get("uuid")
            if isinstance(uuid, str) and uuid:
                if uuid in seen:
                    stats.duplicates += 1
                    continue
                seen.add(uuid)
            msg = _message(entry, agent)
            if msg is None:
                stats.noise += 1
                continue
            stats.kept += 1
            yield from joiner.push(msg)
    yield from joiner.flush()


def _first_text(msg: Message) -> str:
    return next((b.text for b in msg.blocks if b.kind == "text"), "")


def read_sessions(
    sources: Iterable[tuple[Path, str]], stats: ReadStats | None = None
) -> Iterator[Message]:
    """Stream the messages of several files, each ``(path, agent label)``, deduplicated.

    Besides ``uuid`` deduplication: an ``aside_question`` subagent replays its parent's messages
    (dropped when their text was already seen), and a 2.0.x "Warmup" sidechain is dropped whole.
    """
    stats = stats if stats is not None else ReadStats()
    seen: set[str] = set()
    main_texts: set[int] = set()
    for path, agent in sources:
        replay = "aside_question" in agent
        first_user = True
        for msg in read_file(path, stats, seen, agent):
            if msg.role == "user" and first_user and not _only_results(msg):
                first_user = False
                if agent and _first_text(msg).strip() == "Warmup":
                    stats.noise += 1
                    break
            text = _first_text(msg)
            key = hash((msg.role, text))
            if not msg.agent and text:
                main_texts.add(key)
            elif replay and text and key in main_texts:
                stats.duplicates += 1
                continue
            yield msg
