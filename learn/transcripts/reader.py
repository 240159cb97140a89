"""Streaming reader for Claude Code session transcripts (JSONL).

The format is undocumented and changes between versions (see docs/transcript-format.md), so the reader is
defensive: it streams line by line (files reach gigabytes), never raises on a line, counts what it
skipped, drops noise entries, deduplicates entries by ``uuid`` across files and joins the several
lines one API response is written as (they share ``message.id``).

It yields :class:`Message` objects: one per user line, one per assistant API response, one per
meaningful system or summary line.

Speed: each line is decoded by msgspec into Structs that declare only the fields read here, so
the large fields nobody reads (``toolUseResult``, snapshots, progress data, signatures, image
data, token usage, timestamps) are skipped rather than built into dicts. A line that does not fit them takes the dict
path (orjson), which reads any JSON object by the same rules — so the typed path changes speed,
not what is read. Two differences, both at the edge of JSON: a number beyond the range of a
double in a field not read no longer makes the whole line unreadable, and an integer beyond 64
bits stays an ``int`` in ``Block.input`` (orjson made it a float; the digest renders it as
before).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import orjson

__all__ = [
    "KEPT_SYSTEM_SUBTYPES",
    "LINE_DECODER",
    "NOISE_TYPES",
    "Block",
    "Message",
    "ReadStats",
    "read_file",
    "read_sessions",
]

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


class Block(msgspec.Struct, gc=False, array_like=True):
    """One content block, normalised across versions. (``array_like``: sent between processes
    as an array, without its field names: ``learn.transcripts.background``.)"""

    kind: str  # text | thinking | tool_use | tool_result | image
    text: str = ""
    name: str = ""  # tool name (tool_use)
    input: dict[str, Any] = msgspec.field(default_factory=dict)  # tool input (tool_use)
    tool_id: str = ""  # tool_use id, or the tool_use_id a result answers
    is_error: bool = False  # tool_result
    images: int = 0  # images inside a tool_result
    # The privacy triggers of ``text`` (of a tool_use: of its input's strings), when the
    # background reader worked them out (learn.transcripts.background); -1: not known.
    fired: int = -1
    # What the digest shows of the block, made in the background reader's process in place of
    # the text it was made from (learn.ahead); None: not made there.
    excerpt: str | None = None
    errors: list[str] = msgspec.field(default_factory=list)  # an excerpt's error lines


class Message(msgspec.Struct, array_like=True):
    """A user line, an assistant response (joined), or a kept system/summary line."""

    role: str  # user | assistant | system | summary
    blocks: list[Block]
    uuid: str = ""
    session_id: str = ""
    cwd: str = ""
    agent: str = ""  # "" for the main thread, else a subagent label
    msg_id: str = ""
    model: str = ""
    is_meta: bool = False
    is_compact_summary: bool = False
    is_api_error: bool = False
    subtype: str = ""  # system subtype


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


# --- the typed path: only the fields read here are declared; msgspec skips the rest ----------


class _Item(msgspec.Struct, gc=False):
    """An item of a tool_result's content list."""

    type: str | None = None
    text: str | None = None


class _Block(msgspec.Struct, gc=False):
    """A content block of any kind (the fields of all kinds read here)."""

    type: str | None = None
    text: str | None = None
    thinking: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None
    id: str | None = None
    tool_use_id: str | None = None
    is_error: bool | None = None
    content: str | list[str | _Item] | None = None


class _Body(msgspec.Struct, gc=False):
    """``message`` of a user or assistant line."""

    id: str | None = None
    model: str | None = None
    content: str | list[str | _Block] | None = None


class _Entry(msgspec.Struct, gc=False, rename="camel"):
    """One line (field names camelCased in JSON: ``sessionId``, ``isMeta``, ...).

    Kept system lines are read by the dict path: they are rare and come in several shapes.
    """

    type: str | None = None
    uuid: str | None = None
    session_id: str | None = None
    cwd: str | None = None
    is_sidechain: bool | None = None
    is_meta: bool | None = None
    is_compact_summary: bool | None = None
    is_api_error_message: bool | None = None
    message: _Body | str | None = None
    subtype: str | None = None
    summary: str | None = None


#: Decodes one line into an :class:`_Entry` (the benchmark times it alone, as "typed decode").
LINE_DECODER = msgspec.json.Decoder(_Entry)


def _decode_typed(line: bytes | memoryview, check_utf8: bool = True) -> _Entry | None:
    """The line as an :class:`_Entry`; None when the dict path must read it.

    That is: not valid UTF-8 (orjson rejects such a line whole, and the dict path repairs and
    counts it, even when the bad bytes sit in a field skipped here), not one JSON object, a
    shape the Structs do not declare (a number where a string belongs, an odd block, ...), or
    a kept system line (rare, and in several shapes).
    """
    try:
        if check_utf8 and not _is_utf8(line):
            return None
        entry = LINE_DECODER.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return None
    if entry.type == "system" and entry.subtype in KEPT_SYSTEM_SUBTYPES:
        return None
    return entry


def _is_utf8(data: bytes | memoryview) -> bool:
    if isinstance(data, bytes) and data.isascii():
        return True
    try:
        str(data, "utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _typed_blocks(content: str | list[str | _Block] | None) -> list[Block]:
    """:func:`_blocks` for typed content: the same blocks from the same JSON."""
    if content is None:
        return []
    if isinstance(content, str):
        return [Block("text", text=content)] if content else []
    blocks: list[Block] = []
    for item in content:
        if isinstance(item, str):
            blocks.append(Block("text", text=item))
            continue
        kind = item.type
        if kind == "text":
            if item.text is not None:
                blocks.append(Block("text", text=item.text))
        elif kind == "thinking":
            thought = item.thinking
            if thought is not None and thought.strip():
                blocks.append(Block("thinking", text=thought))
        elif kind == "tool_use":
            blocks.append(
                Block(
                    "tool_use",
                    name=item.name or "?",
                    input=item.input if item.input is not None else {},
                    tool_id=item.id or "",
                )
            )
        elif kind == "tool_result":
            text, images = _typed_text_of(item.content)
            blocks.append(
                Block(
                    "tool_result",
                    text=text,
                    tool_id=item.tool_use_id or "",
                    is_error=item.is_error is True,
                    images=images,
                )
            )
        elif kind == "image":
            blocks.append(Block("image"))
    return blocks


def _typed_text_of(content: str | list[str | _Item] | None) -> tuple[str, int]:
    if content is None:
        return "", 0
    if isinstance(content, str):
        return content, 0
    parts: list[str] = []
    images = 0
    for item in content:
        if isinstance(item, str):
            parts.append(item)
        elif item.type == "image":
            images += 1
        elif item.text is not None:
            parts.append(item.text)
    return "\n".join(parts), images


def _typed_message(entry: _Entry, agent: str) -> Message | None:
    """:func:`_message` for a typed line (kept system lines never come here)."""
    kind = entry.type
    if kind == "user" or kind == "assistant":
        body = entry.message
        if body is None or isinstance(body, str):
            content: str | list[str | _Block] | None = body
            msg_id = model = ""
        else:
            content = body.content
            msg_id = (body.id or "") if kind == "assistant" else ""
            model = body.model or ""
        return Message(
            role=kind,
            blocks=_typed_blocks(content),
            uuid=entry.uuid or "",
            session_id=entry.session_id or "",
            cwd=entry.cwd or "",
            agent=agent or ("sidechain" if entry.is_sidechain is True else ""),
            msg_id=msg_id,
            model=model,
            is_meta=entry.is_meta is True,
            is_compact_summary=entry.is_compact_summary is True,
            is_api_error=entry.is_api_error_message is True or model == "<synthetic>",
        )
    if kind == "summary":
        summary = entry.summary
        if summary is None or not summary.strip():
            return None
        return Message(
            role="summary",
            blocks=[Block("text", text=summary)],
            uuid=entry.uuid or "",
            session_id=entry.session_id or "",
            cwd=entry.cwd or "",
            agent=agent or ("sidechain" if entry.is_sidechain is True else ""),
        )
    return None  # noise, or a system subtype not kept


# --- the dict path: any JSON object, normalised defensively ----------------------------------


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
        "cwd": str(entry.get("cwd") or ""),
        "agent": agent or ("sidechain" if entry.get("isSidechain") is True else ""),
    }
    if kind in ("user", "assistant"):
        msg = entry.get("message")
        if not isinstance(msg, dict):
            msg = {"content": msg} if isinstance(msg, str) else {}
        model = str(msg.get("model") or "")
        return Message(
            role=kind,
            blocks=_blocks(msg.get("content")),
            msg_id=str(msg.get("id") or "") if kind == "assistant" else "",
            model=model,
            is_meta=entry.get("isMeta") is True,
            is_compact_summary=entry.get("isCompactSummary") is True,
            is_api_error=entry.get("isApiErrorMessage") is True or model == "<synthetic>",
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

    def push(self, msg: Message) -> list[Message]:
        """The messages ready to go out after ``msg`` (often none: it is held back)."""
        pending = self.pending
        if pending is not None:
            if msg.role == "assistant" and msg.msg_id == pending.msg_id:
                pending.blocks.extend(msg.blocks)
                return []
            if msg.role == "user" and not msg.is_meta and _only_results(msg):
                self.deferred.append(msg)
                # bound what is held back
                return self.flush() if len(self.deferred) >= 64 else []
            out = self.flush()
        else:
            out = []
        if msg.role == "assistant" and msg.msg_id:
            self.pending = msg
        else:
            out.append(msg)
        return out

    def flush(self) -> list[Message]:
        out = [] if self.pending is None else [self.pending]
        out += self.deferred
        self.pending = None
        self.deferred = []
        return out


def _only_results(msg: Message) -> bool:
    for block in msg.blocks:  # a loop, not all(<generator>): this runs for every user line
        if block.kind != "tool_result":
            return False
    return bool(msg.blocks)


_BLOCK = 1 << 18  # bytes read at a time: lines are decoded from the block in place


def _runs(fh: BinaryIO) -> Iterator[tuple[bytes, int, int]]:
    """The file as runs of whole lines, ``(buffer, start, end)``.

    Blocks are read and handed on without copying; only a line that a block boundary cuts is
    put together. The last line may lack its newline (a truncated file).
    """
    partial: list[bytes] = []
    while data := fh.read(_BLOCK):
        first = data.find(b"\n") + 1
        if first == 0:  # no line ends in this block
            partial.append(data)
            continue
        if partial:
            partial.append(data[:first])
            line = b"".join(partial)
            partial = []
            yield line, 0, len(line)
        else:
            first = 0
        cut = data.rfind(b"\n") + 1
        if first < cut:
            yield data, first, cut
        if cut < len(data):
            partial.append(data[cut:])
    if partial:
        line = b"".join(partial)
        yield line, 0, len(line)


def _decode_dict(
    line: memoryview, stats: ReadStats, path: Path, lineno: int
) -> tuple[bool, dict[str, Any] | None]:
    """The dict path: whether the line counts as read (not blank), and its object (None: skipped)."""
    raw = bytes(line).strip()
    if not raw:
        return False, None
    try:
        entry = _loads(raw, stats)
    except (orjson.JSONDecodeError, ValueError):
        stats.note_skip(path, lineno, "not valid JSON (truncated or binary line)")
        return True, None
    if not isinstance(entry, dict):
        stats.note_skip(path, lineno, "not a JSON object")
        return True, None
    return True, entry


def _duplicate(uuid: str | None, seen: set[str]) -> bool:
    """Whether ``uuid`` was read before (if not, it is remembered now); no uuid never is."""
    if not uuid:
        return False
    if uuid in seen:
        return True
    seen.add(uuid)
    return False


def read_file(path: Path, stats: ReadStats, seen: set[str], agent: str = "") -> Iterator[Message]:
    """Stream the messages of one JSONL file. Never raises on content; OSError propagates.

    Each line is decoded into :class:`_Entry` (typed, only the fields read here); a line that
    does not fit — not JSON, not valid UTF-8 (the dict path repairs and counts it), a shape the
    Structs do not declare, a kept system line — is read by the dict path, whose rules the typed
    path mirrors.
    """
    joiner = _Joiner()
    stats.files += 1
    lineno = n_bytes = n_lines = n_kept = n_noise = n_duplicates = 0  # into ``stats`` at the end
    try:
        with path.open("rb", buffering=0) as fh:
            for buf, start, end in _runs(fh):
                view = memoryview(buf)
                block_utf8 = buf.isascii() or _is_utf8(view[start:end])
                find = buf.find
                pos = start
                while pos < end:
                    nl = find(b"\n", pos, end) + 1 or end
                    line = view[pos:nl]
                    lineno += 1
                    n_bytes += nl - pos
                    pos = nl
                    typed = _decode_typed(line, check_utf8=not block_utf8)
                    if typed is not None:
                        n_lines += 1
                        uuid = typed.uuid
                        if uuid:  # _duplicate written out: this runs for every line
                            if uuid in seen:
                                n_duplicates += 1
                                continue
                            seen.add(uuid)
                        msg = _typed_message(typed, agent)
                    else:
                        counted, entry = _decode_dict(line, stats, path, lineno)
                        n_lines += counted
                        if entry is None:
                            continue
                        uuid = entry.get("uuid")
                        if _duplicate(uuid if isinstance(uuid, str) else None, seen):
                            n_duplicates += 1
                            continue
                        msg = _message(entry, agent)
                    if msg is None:
                        n_noise += 1
                        continue
                    n_kept += 1
                    ready = joiner.push(msg)
                    if ready:
                        yield from ready
        yield from joiner.flush()
    finally:  # also when the caller stops early
        stats.bytes_in += n_bytes
        stats.lines += n_lines
        stats.kept += n_kept
        stats.noise += n_noise
        stats.duplicates += n_duplicates


def _first_text(msg: Message) -> str:
    for block in msg.blocks:
        if block.kind == "text":
            return block.text
    return ""


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
            text = _first_text(msg)
            if first_user and msg.role == "user" and not _only_results(msg):
                first_user = False
                if agent and text.strip() == "Warmup":
                    stats.noise += 1
                    break
            if text:
                if not msg.agent:
                    main_texts.add(hash((msg.role, text)))
                elif replay and hash((msg.role, text)) in main_texts:
                    stats.duplicates += 1
                    continue
            yield msg
