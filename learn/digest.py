"""The digest: what the learn engine reads instead of the raw transcript.

Transcript messages become :class:`Event` objects (user prompts, assistant text and reasoning,
tool calls with long parameters shortened, tool results as head + error lines + tail, errors,
compaction summaries; images become a marker), every string redacted (secrets and personal data,
``learn.privacy``) before it is shortened. Events are streamed into

- ``digest-NNN.md``: a compact, deterministic rendering, chunked at a token budget on event
  boundaries — what a model reads;
- ``events.jsonl``: the same events as data — what the offline engine reads;
- ``manifest.json``: chunk list, sources and counts.

Nothing is held in memory beyond the event being written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import IO, Any

import orjson

from learn.privacy.outbound import scrub, scrub_head, scrub_slice
from learn.privacy.redact import HEAD_MARGIN
from learn.transcripts.files import SessionFile
from learn.transcripts.reader import Message, ReadStats, read_sessions

DEFAULT_TOKEN_BUDGET = 20_000
_FILE_READERS = frozenset({"Read", "NotebookRead"})
CHARS_PER_TOKEN = 4

_NOISE_TAGS = re.compile(
    r"<(system-reminder|local-command-caveat|task-notification)>.*?</\1>\s*", re.S
)
_COMMAND_NAME = re.compile(r"<command-name>\s*(.*?)\s*</command-name>", re.S)
_COMMAND_TAGS = re.compile(r"</?(command-message|command-args|local-command-stdout)>")
_INTERRUPT = re.compile(r"\[Request interrupted by user[^\]]*\]")
_ERROR_LINE = re.compile(
    r"error|exception|traceback|failed|failure|fatal|denied|not found|no such|cannot|"
    r"can't|unable|invalid|refused|exit code [1-9]|✗|\bFAIL",
    re.I,
)
# The same words for lower-cased text, without re.I ("fail" covers failed, failure and FAIL).
_ERROR_WORDS = re.compile(
    r"error|exception|traceback|fail|fatal|denied|not found|no such|cannot|can't|unable|"
    r"invalid|refused|exit code [1-9]|✗"
)


@dataclass(slots=True)
class Event:
    """One thing that happened in a session, ready to render or to learn from."""

    n: int  # position in the digest (1-based)
    kind: str  # prompt | text | thinking | call | result | error | interrupt | compaction | summary
    text: str = ""
    session: str = ""
    agent: str = ""
    tool: str = ""
    call: int = 0  # per-digest number linking a call to its result
    params: dict[str, str] = field(default_factory=dict)
    is_error: bool = False
    error_lines: list[str] = field(default_factory=list)
    interrupted: bool = False  # a prompt that follows "[Request interrupted by user]"
    change: str = ""  # an edit call's change in short: "`old` → `new`", "+ `added`"


@dataclass(slots=True)
class DigestOptions:
    token_budget: int = DEFAULT_TOKEN_BUDGET
    param_chars: int = 200  # longest tool parameter kept whole
    result_head: int = 6
    result_tail: int = 4  # test runners put their summary last
    result_error_lines: int = 8
    text_chars: int = 2_500  # longest prompt/assistant text kept whole
    thinking_chars: int = 600
    email_allow: tuple[str, ...] = ()  # e-mail domains kept (learn.privacy.personal)


@dataclass(slots=True)
class DigestResult:
    out_dir: Path
    chunks: list[Path]
    stats: ReadStats
    events: int
    chars_out: int
    prompts: int
    tool_errors: int
    sessions: list[str]

    @property
    def tokens(self) -> int:
        return self.chars_out // CHARS_PER_TOKEN

    @property
    def is_empty(self) -> bool:
        return self.prompts == 0 and self.events == 0

    def summary(self) -> str:
        s = self.stats
        return (
            f"digest: {s.files} file(s), {s.lines:,} lines read, {s.kept:,} kept, "
            f"{s.noise:,} noise, {s.duplicates:,} duplicate, {s.skipped:,} skipped; "
            f"{_size(s.bytes_in)} in → {_size(self.chars_out)} out "
            f"(~{self.tokens:,} tokens, {len(self.chunks)} chunk(s), {self.events:,} events)"
        )


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - limit // 5]}… [+{len(text) - (limit - limit // 5):,} chars]"


def scrub_short(text: str, limit: int, allow: tuple[str, ...] = ()) -> str:
    """``shorten(scrub(text), limit)``: secrets and personal data out before the cut (a cut token
    would no longer match), scrubbing only what is kept and enough past the cut that a secret
    across it is found whole."""
    keep = limit - limit // 5
    if len(text) <= keep + 2 * HEAD_MARGIN:  # cheaper to scrub it all than a head and margin
        return shorten(scrub(text, allow), limit)
    return f"{scrub_head(text, keep, allow)}… [+{len(text) - keep:,} chars]"


def clean_text(text: str) -> tuple[str, bool]:
    """Strip the harness noise inside a message; report whether it was an interrupt marker."""
    interrupted = bool(_INTERRUPT.search(text))
    text = _INTERRUPT.sub("", text)
    text = _NOISE_TAGS.sub("", text)
    text = _COMMAND_NAME.sub(lambda m: m.group(1), text)
    text = _COMMAND_TAGS.sub("", text)
    return text.strip(), interrupted


def _error_spans(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Up to ``limit`` (start, end) spans of lines in ``text[start:end]`` that look like errors.

    One scan over the text, not one call per line: tool output can be long. The scan runs a
    plain alternation over the lower-cased text (several times faster than ``re.I``); offsets map
    back because lower-casing keeps the length — else the case-insensitive pattern is used.
    """
    haystack = text.lower()
    pattern = _ERROR_WORDS
    if len(haystack) != len(text):
        haystack, pattern = text, _ERROR_LINE
    spans: list[tuple[int, int]] = []
    pos = start
    while len(spans) < limit:
        match = pattern.search(haystack, pos, end)
        if match is None:
            break
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        line_end = len(text) if line_end == -1 else line_end
        spans.append((line_start, line_end))
        pos = line_end + 1
    return spans


def _nth_newline(text: str, n: int) -> int:
    """Offset just past the n-th line (len(text) if there are fewer lines)."""
    pos = 0
    for _ in range(n):
        found = text.find("\n", pos)
        if found == -1:
            return len(text)
        pos = found + 1
    return pos


def _nth_newline_from_end(text: str, n: int) -> int:
    """Offset where the last n lines start."""
    pos = len(text) - 1 if text.endswith("\n") else len(text)  # the final newline ends a line
    for _ in range(n):
        found = text.rfind("\n", 0, pos)
        if found == -1:
            return 0
        pos = found
    return pos + 1 if pos < len(text) and text[pos] == "\n" else pos


_SCRUB_WHOLE = 16_000  # characters: a longer tool result is scrubbed piece by piece


def result_excerpt(
    text: str, opts: DigestOptions, *, want_errors: bool = True, allow: tuple[str, ...] = ()
) -> tuple[str, list[str]]:
    """Head + error lines + tail of a tool result, and (if wanted) the error lines on their own.
    Each piece kept is scrubbed (secrets, personal data) before any cut, as the whole text would
    be (``scrub_slice``: a secret across a piece's edge is found whole)."""

    whole = len(text) <= _SCRUB_WHOLE  # scanning it all costs less than the pieces' margins
    if whole:
        text = scrub(text, allow)

    def piece(a: int, b: int) -> str:
        return text[a:b] if whole else scrub_slice(text, a, b, allow)

    errors: list[str] = []
    if want_errors:
        spans = _error_spans(text, 0, len(text), opts.result_error_lines)
        errors = [piece(a, b).strip()[:300] for a, b in spans]
    keep = opts.result_head + opts.result_tail + opts.result_error_lines
    if len(text) <= 2_000 and text.count("\n") < keep:
        return text, errors
    head_end = _nth_newline(text, opts.result_head)
    tail_start = max(head_end, _nth_newline_from_end(text, opts.result_tail))
    picked = [
        piece(a, b) for a, b in _error_spans(text, head_end, tail_start, opts.result_error_lines)
    ]
    middle_lines = text.count("\n", head_end, tail_start)
    omitted = max(0, middle_lines - len(picked))
    head = piece(0, head_end).splitlines()
    tail = piece(tail_start, len(text)).splitlines()
    body = [*head, f"… [{omitted:,} lines omitted]", *picked, *tail]
    return shorten("\n".join(ln[:300] for ln in body), 3_000), errors


def _relative(value: str, cwd: str) -> str:
    if cwd and value.startswith(cwd):
        rest = value[len(cwd) :].lstrip("/\\")
        return rest.replace("\\", "/") or "."
    return value


def _strip_cwd(text: str, cwd: str) -> str:
    """Tool output names files by absolute path; the session's cwd adds nothing but length."""
    if len(cwd) > 1 and cwd in text:
        text = text.replace(cwd + "/", "").replace(cwd + "\\", "")
    return text


def _params(
    tool_input: dict[str, Any], cwd: str, limit: int, allow: tuple[str, ...] = ()
) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tool_input.items():
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        if key in ("file_path", "path", "notebook_path"):
            text = _relative(text, cwd)
        out[str(key)] = scrub_short(text, limit, allow)
    return out


def _scrubbed(value: Any, allow: tuple[str, ...]) -> Any:
    """A tool input with every string scrubbed (before ``edit_change`` cuts words short)."""
    if isinstance(value, str):
        return scrub(value, allow)
    if isinstance(value, list):
        return [_scrubbed(v, allow) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, allow) for k, v in value.items()}
    return value


_EDIT_TOOLS = frozenset({"Edit", "MultiEdit"})
_WORDS = re.compile(r"\S+")


def edit_change(tool_input: dict[str, Any], limit: int = 240) -> str:
    """What an Edit/MultiEdit call changed, word by word: "`old` → `new`; + `added`".

    Tool parameters are shortened in the digest, so the change is taken from the whole
    strings here. Only the first few differing runs are kept, each cut to 80 characters.
    """
    pairs: list[tuple[str, str]] = []
    edits = tool_input.get("edits")
    if isinstance(edits, list):
        pairs = [
            (str(e.get("old_string", "")), str(e.get("new_string", "")))
            for e in edits
            if isinstance(e, dict)
        ]
    elif "old_string" in tool_input or "new_string" in tool_input:
        pairs = [(str(tool_input.get("old_string", "")), str(tool_input.get("new_string", "")))]
    parts: list[str] = []
    for old, new in pairs:
        a, b = _WORDS.findall(old)[:3_000], _WORDS.findall(new)[:3_000]
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            gone, added = _span(a[i1:i2]), _span(b[j1:j2])
            parts.append(
                f"`{gone}` → `{added}`"
                if gone and added
                else f"+ `{added}`"
                if added
                else f"- `{gone}`"
            )
            if len(parts) >= 4:
                break
        if len(parts) >= 4:
            break
    return shorten("; ".join(parts), limit) if parts else ""


def _span(words: list[str]) -> str:
    text = " ".join(words).replace("`", "'")
    return text if len(text) <= 80 else text[:79] + "…"


class _EventBuilder:
    """Turns messages into events; remembers which call each result answers."""

    def __init__(self, opts: DigestOptions) -> None:
        self.opts = opts
        self.n = 0
        self.calls: dict[str, tuple[int, str]] = {}  # tool_use id -> (call number, tool name)
        self.next_call = 0
        self.after_interrupt = False  # the next prompt redirects interrupted work

    def scrub(self, text: str) -> str:
        """Secrets and personal data out, before any shortening (a cut token would not match)."""
        return scrub(text, self.opts.email_allow)

    def short(self, text: str, limit: int) -> str:
        return scrub_short(text, limit, self.opts.email_allow)

    def _event(self, msg: Message, kind: str, **kw: Any) -> Event:
        self.n += 1
        return Event(self.n, kind, session=msg.session_id[:8], agent=msg.agent, **kw)

    def events(self, msg: Message) -> Iterator[Event]:
        opts = self.opts
        if msg.role == "summary":
            yield self._event(msg, "summary", text=self.short(msg.blocks[0].text, 300))
            return
        if msg.role == "system":
            kind = "compaction" if "compact" in msg.subtype else "error"
            yield self._event(msg, kind, text=self.short(msg.blocks[0].text, 600))
            return
        if msg.is_meta:
            return
        if msg.is_compact_summary:
            text = " ".join(b.text for b in msg.blocks if b.kind == "text")
            yield self._event(msg, "compaction", text=self.short(text, 2_000))
            return
        for block in msg.blocks:
            if block.kind == "text":
                text, interrupted = clean_text(block.text)
                if not text and not interrupted:
                    continue
                if msg.role == "assistant" and msg.is_api_error:
                    yield self._event(msg, "error", text=self.short(text, 600))
                elif msg.role == "user" and not text:  # a bare interrupt marker
                    self.after_interrupt = True
                    yield self._event(msg, "interrupt")
                elif msg.role == "user":
                    yield self._event(
                        msg,
                        "prompt",
                        text=self.short(text, opts.text_chars),
                        interrupted=interrupted or self.after_interrupt,
                    )
                    self.after_interrupt = False
                else:
                    yield self._event(msg, "text", text=self.short(text, opts.text_chars))
            elif block.kind == "thinking":
                yield self._event(msg, "thinking", text=self.short(block.text, opts.thinking_chars))
            elif block.kind == "image":
                yield self._event(msg, "prompt" if msg.role == "user" else "text", text="[image]")
            elif block.kind == "tool_use":
                self.next_call += 1
                self.calls[block.tool_id] = (self.next_call, block.name)
                change = (
                    edit_change(_scrubbed(block.input, opts.email_allow))  # scrubbed, then cut
                    if block.name in _EDIT_TOOLS
                    else ""
                )
                yield self._event(
                    msg,
                    "call",
                    tool=block.name,
                    call=self.next_call,
                    params=_params(block.input, msg.cwd, opts.param_chars, opts.email_allow),
                    change=change,
                )
            elif block.kind == "tool_result":
                number, name = self.calls.pop(block.tool_id, (0, "?"))
                raw = _strip_cwd(block.text, msg.cwd)
                errors: list[str] = []
                if name in _FILE_READERS and not block.is_error:
                    # The file is in the repository: its content adds tokens, not knowledge.
                    text = f"[{raw.count(chr(10)) + 1:,} lines read]"
                else:
                    text, errors = result_excerpt(
                        raw, opts, want_errors=block.is_error, allow=opts.email_allow
                    )
                if block.images:
                    text += f"\n[{block.images} image(s)]"
                yield self._event(
                    msg,
                    "result",
                    tool=name,
                    call=number,
                    is_error=block.is_error,
                    text=text,
                    error_lines=errors if block.is_error else [],
                )


def render_event(ev: Event) -> str:
    """One event as compact text: a tagged first line, continuation lines indented."""
    if ev.kind == "call":
        args = ", ".join(f"{k}={_inline(v)}" for k, v in ev.params.items())
        return f"[{ev.n}] CALL #{ev.call} {ev.tool}({args})\n"
    if ev.kind == "result":
        tag = "RESULT ERROR" if ev.is_error else "RESULT"
        return f"[{ev.n}] {tag} #{ev.call} {ev.tool}:" + _block(ev.text)
    label = {
        "prompt": "USER (after interrupt)" if ev.interrupted else "USER",
        "text": "ASSISTANT",
        "thinking": "THINKING",
        "error": "ERROR",
        "interrupt": "INTERRUPTED BY THE USER",
        "compaction": "COMPACTION",
        "summary": "SUMMARY",
    }[ev.kind]
    if not ev.text:
        return f"[{ev.n}] {label}\n"
    return f"[{ev.n}] {label}:" + _block(ev.text)


def _inline(value: str) -> str:
    return orjson.dumps(value).decode() if any(c in value for c in ' ,()"\n=') else value


def _block(text: str) -> str:
    lines = text.splitlines() or [""]
    if len(lines) == 1:
        return f" {lines[0]}\n"
    return "\n" + "".join(f"  | {ln}\n" for ln in lines)


class _ChunkWriter:
    def __init__(self, out_dir: Path, budget_chars: int, title: str) -> None:
        self.out_dir, self.budget, self.title = out_dir, budget_chars, title
        self.paths: list[Path] = []
        self.fh: IO[str] | None = None
        self.size = 0
        self.total = 0
        self.context = ""  # the current section header, restated at the top of a new chunk

    def _open(self) -> None:
        self.close()
        path = self.out_dir / f"digest-{len(self.paths) + 1:03d}.md"
        self.paths.append(path)
        self.fh = path.open("w", encoding="utf-8")
        self.size = 0
        self._write(f"# {self.title} — part {len(self.paths)}\n\n")
        if self.context:
            self._write(self.context)

    def _write(self, text: str) -> None:
        assert self.fh is not None
        self.fh.write(text)
        self.size += len(text)
        self.total += len(text)

    def section(self, header: str) -> None:
        self.context = header
        if self.fh is None:
            self._open()
        else:
            self._write("\n" + header)

    def add(self, text: str) -> None:
        if self.fh is None or (
            self.size + len(text) > self.budget and self.size > len(self.context) + 80
        ):
            self._open()
        self._write(text)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def _section_header(session: str, agent: str) -> str:
    who = agent or "main thread"
    return f"## Session {session or '?'} — {who}\n\n"


def build_digest(
    files: Iterable[SessionFile],
    out_dir: Path,
    opts: DigestOptions | None = None,
    title: str = "Session digest",
) -> DigestResult:
    """Stream ``files`` into ``out_dir`` (digest chunks, events.jsonl, manifest.json)."""
    opts = opts or DigestOptions()
    files = list(files)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("digest-*.md"):
        stale.unlink()
    stats = ReadStats()
    builder = _EventBuilder(opts)
    writer = _ChunkWriter(out_dir, opts.token_budget * CHARS_PER_TOKEN, title)
    sessions: list[str] = []
    counts = {"events": 0, "prompts": 0, "tool_errors": 0}
    section = ("", "")
    with (out_dir / "events.jsonl").open("wb") as events_fh:
        messages = read_sessions(((f.path, f.agent) for f in files), stats)
        for msg in messages:
            if msg.session_id and msg.session_id not in sessions:
                sessions.append(msg.session_id)
            for ev in builder.events(msg):
                if (ev.session, ev.agent) != section:
                    section = (ev.session, ev.agent)
                    writer.section(_section_header(*section))
                writer.add(render_event(ev))
                events_fh.write(orjson.dumps(_compact(ev)) + b"\n")
                counts["events"] += 1
                counts["prompts"] += ev.kind == "prompt"
                counts["tool_errors"] += ev.kind == "result" and ev.is_error
    writer.close()
    result = DigestResult(
        out_dir=out_dir,
        chunks=writer.paths,
        stats=stats,
        events=counts["events"],
        chars_out=writer.total,
        prompts=counts["prompts"],
        tool_errors=counts["tool_errors"],
        sessions=sessions,
    )
    manifest = {
        "chunks": [p.name for p in writer.paths],
        "sources": [{"path": scrub(str(f.path)), "agent": f.agent} for f in files],
        "sessions": sessions,
        "events": result.events,
        "prompts": result.prompts,
        "tool_errors": result.tool_errors,
        "chars_out": result.chars_out,
        "tokens": result.tokens,
        "stats": {k: v for k, v in asdict(stats).items()},
    }
    (out_dir / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return result


_EVENT_FIELDS = tuple(f.name for f in fields(Event))


def _compact(ev: Event) -> dict[str, Any]:
    """An event as a dict without its empty fields (no deep copy: it is serialised at once)."""
    out: dict[str, Any] = {}
    for name in _EVENT_FIELDS:
        value = getattr(ev, name)
        if value or name in ("n", "kind"):
            out[name] = value
    return out


def load_events(out_dir: Path) -> Iterator[Event]:
    """Read back the events a digest wrote."""
    with (out_dir / "events.jsonl").open("rb") as fh:
        for raw in fh:
            yield Event(**orjson.loads(raw))
