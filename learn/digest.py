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

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import msgspec
import orjson

try:  # difflib's SequenceMatcher, compiled: the same opcodes (tested), a third of the time
    from cydifflib import SequenceMatcher  # type: ignore[import-untyped]
except ImportError:  # no wheel for this Python
    from difflib import SequenceMatcher

from learn.ahead import FILE_READERS, Ahead, Limits, lines_read, reads_blocks, strip_cwd
from learn.code_spans import code_span
from learn.excerpts import result_excerpt, shorten
from learn.privacy.outbound import forget_scrubbed, scrub, scrub_head
from learn.privacy.redact import HEAD_MARGIN
from learn.transcripts.background import read_in_background, worth_a_process
from learn.transcripts.files import SessionFile
from learn.transcripts.reader import Block, Message, ReadStats, read_sessions

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_TOKEN_BUDGET",
    "DigestOptions",
    "DigestResult",
    "Event",
    "build_digest",
    "check_out_folder",
    "clean_text",
    "edit_change",
    "load_events",
    "render_event",
    "result_excerpt",
    "scrub_short",
    "shorten",
]

DEFAULT_TOKEN_BUDGET = 20_000
_WRITE_BUFFER = 1 << 20  # events.jsonl is written in few large writes
_EVENTS_PER_WRITE = 1_024  # events encoded at a time (about half a megabyte)
CHARS_PER_TOKEN = 4

_NOISE_TAGS = re.compile(
    r"<(system-reminder|local-command-caveat|task-notification)>.*?</\1>\s*", re.S
)
_COMMAND_NAME = re.compile(r"<command-name>\s*(.*?)\s*</command-name>", re.S)
_COMMAND_TAGS = re.compile(r"</?(command-message|command-args|local-command-stdout)>")
_INTERRUPT = re.compile(r"\[Request interrupted by user[^\]]*\]")


class Event(msgspec.Struct, omit_defaults=True):
    """One thing that happened in a session, ready to render or to learn from.

    In ``events.jsonl`` a field at its default (empty) is left out.
    """

    n: int  # position in the digest (1-based)
    kind: str  # prompt | text | thinking | call | result | error | interrupt | compaction | summary
    text: str = ""
    session: str = ""
    agent: str = ""
    tool: str = ""
    call: int = 0  # per-digest number linking a call to its result
    params: dict[str, str] = msgspec.field(default_factory=dict)
    is_error: bool = False
    error_lines: list[str] = msgspec.field(default_factory=list)
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
    # Read the transcript in a second process (learn.transcripts.background); None: when the
    # input is large enough to gain from it.
    background: bool | None = None


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


def scrub_short(
    text: str, limit: int, allow: tuple[str, ...] = (), fired: int | None = None
) -> str:
    """``shorten(scrub(text), limit)``: secrets and personal data out before the cut (a cut token
    would no longer match), scrubbing only what is kept and enough past the cut that a secret
    across it is found whole. (``shorten`` is written out: this runs for most strings.)"""
    keep = limit - limit // 5
    if len(text) > keep + 2 * HEAD_MARGIN:  # cheaper to scrub a head and margin than it all
        return f"{scrub_head(text, keep, allow, fired)}… [+{len(text) - keep:,} chars]"
    text = scrub(text, allow, fired)
    if len(text) <= limit:
        return text
    return f"{text[:keep]}… [+{len(text) - keep:,} chars]"


def clean_text(text: str) -> tuple[str, bool]:
    """Strip the harness noise inside a message; report whether it was an interrupt marker."""
    if "<" not in text and "[Request interrupted by user" not in text:
        return text.strip(), False  # nothing any of the patterns below could match
    interrupted = bool(_INTERRUPT.search(text))
    text = _INTERRUPT.sub("", text)
    text = _NOISE_TAGS.sub("", text)
    text = _COMMAND_NAME.sub(lambda m: m.group(1), text)
    text = _COMMAND_TAGS.sub("", text)
    return text.strip(), interrupted


def _relative(value: str, cwd: str) -> str:
    if cwd and value.startswith(cwd):
        rest = value[len(cwd) :].lstrip("/\\")
        return rest.replace("\\", "/") or "."
    return value


_PATH_KEYS = frozenset({"file_path", "path", "notebook_path"})  # shown relative to the cwd


def _params(
    tool_input: dict[str, Any],
    cwd: str,
    limit: int,
    allow: tuple[str, ...] = (),
    fired: int | None = None,
) -> dict[str, str]:
    """Each parameter as a string, scrubbed and shortened. ``fired``: the privacy triggers of
    the input's strings (``Block.fired``); they hold for a string and for a piece of it, not
    for JSON made of other values or a path whose separators were turned."""
    out: dict[str, str] = {}
    for key, value in tool_input.items():
        text = value if isinstance(value, str) else _json_text(value)
        if key in _PATH_KEYS:
            text = _relative(text, cwd)
        hint = fired if isinstance(value, str) and (text is value or "\\" not in value) else None
        out[str(key)] = scrub_short(text, limit, allow, hint)
    return out


def _scrubbed(value: Any, allow: tuple[str, ...], fired: int | None = None) -> Any:
    """A tool input with every string scrubbed (before ``edit_change`` cuts words short)."""
    if isinstance(value, str):
        return scrub(value, allow, fired)
    if isinstance(value, list):
        return [_scrubbed(v, allow, fired) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, allow, fired) for k, v in value.items()}
    return value


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: as a float, as JSON readers do
        return orjson.dumps(_big_ints_as_floats(value)).decode()


def _big_ints_as_floats(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _big_ints_as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_big_ints_as_floats(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return float(value)
    return value


_EDIT_TOOLS = frozenset({"Edit", "MultiEdit"})
_EDIT_KEYS = ("old_string", "new_string", "edits")  # what edit_change reads of a tool input


def _edit_input(
    tool_input: dict[str, Any], allow: tuple[str, ...], fired: int | None = None
) -> dict[str, Any]:
    """The part of an edit call's input that :func:`edit_change` reads, every string in it
    scrubbed (before it cuts words short); the rest would be scrubbed for nothing."""
    return {k: _scrubbed(tool_input[k], allow, fired) for k in _EDIT_KEYS if k in tool_input}


def edit_change(tool_input: dict[str, Any], limit: int = 240) -> str:
    """What an Edit/MultiEdit call changed: "`old line` → `new line`; + `added line`".

    Lines are compared first, so a change never runs from one line into the next. A short
    line (at most :data:`_WHOLE_LINE` characters) that changed is shown whole; in a longer one
    only the words that changed, as "`old words` → `new words`". Tool parameters are shortened
    in the digest, so the change is taken from the whole strings here. Only the first
    :data:`_MOST_PARTS` changes are kept, as many as fit in ``limit``, each side cut to 80
    characters.
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
        _line_changes(_lines(old), _lines(new), parts)
        if len(parts) >= _MOST_PARTS:
            break
    shown = ""
    for part in parts[:_MOST_PARTS]:  # whole changes only (each is at most about 170 characters)
        if shown and len(shown) + 2 + len(part) > limit:
            return shown + "; …"
        shown = f"{shown}; {part}" if shown else part
    return shown


_MOST_LINES = 400  # lines of a side compared
_MOST_PARTS = 4  # changes kept of one call
_WHOLE_LINE = 60  # a changed line up to this long is shown whole, a longer one by its words


def _lines(text: str) -> list[str]:
    """The non-blank lines of ``text``, stripped (indentation alone is not shown as a change)."""
    return [line for line in map(str.strip, text.splitlines()[: _MOST_LINES * 2]) if line][
        :_MOST_LINES
    ]


def _line_changes(a: list[str], b: list[str], parts: list[str]) -> None:
    """Appends the changes from lines ``a`` to lines ``b`` to ``parts``, up to the limit."""
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        gone, added = a[i1:i2], b[j1:j2]
        for k in range(max(len(gone), len(added))):
            if k < len(gone) and k < len(added):
                _pair_changes(gone[k], added[k], parts)
            elif k < len(added):
                parts.append(f"+ {_span(added[k])}")
            else:
                parts.append(f"- {_span(gone[k])}")
            if len(parts) >= _MOST_PARTS:
                return


def _pair_changes(old: str, new: str, parts: list[str]) -> None:
    """One line replaced by another: whole when both are short, else the words that changed."""
    if len(old) <= _WHOLE_LINE and len(new) <= _WHOLE_LINE:
        parts.append(f"{_span(old)} → {_span(new)}")
        return
    a, b = old.split(), new.split()
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        gone, added = " ".join(a[i1:i2]), " ".join(b[j1:j2])
        parts.append(
            f"{_span(gone)} → {_span(added)}"
            if gone and added
            else f"+ {_span(added)}"
            if added
            else f"- {_span(gone)}"
        )
        if len(parts) >= _MOST_PARTS:
            return


def _span(text: str) -> str:
    """``text``, cut to 80 characters, as a code span (its backticks kept)."""
    return code_span(text if len(text) <= 80 else text[:79] + "…")


class _EventBuilder:
    """Turns messages into events; remembers which call each result answers."""

    def __init__(self, opts: DigestOptions) -> None:
        self.opts = opts
        self.allow = opts.email_allow
        self.n = 0
        self.calls: dict[str, tuple[int, str]] = {}  # tool_use id -> (call number, tool name)
        self.next_call = 0
        self.after_interrupt = False  # the next prompt redirects interrupted work

    def events(self, msg: Message) -> list[Event]:
        """The events of one message, numbered on from the previous message's.

        Every text is scrubbed (secrets, personal data) before it is shortened: a cut token
        would no longer match.
        """
        role = msg.role
        session, agent = msg.session_id[:8], msg.agent
        if not reads_blocks(msg):
            return self._whole(msg, session, agent)
        out: list[Event] = []
        for block in msg.blocks:
            kind = block.kind
            if kind == "tool_result":
                out.append(self._result(block, msg.cwd, session, agent))
            elif kind == "tool_use":
                out.append(self._call(block, msg.cwd, session, agent))
            elif kind == "text":
                event = self._text(block, msg, session, agent)
                if event is not None:
                    out.append(event)
            elif kind == "thinking":
                self.n += 1
                text = scrub_short(block.text, self.opts.thinking_chars, self.allow, block.fired)
                out.append(Event(self.n, "thinking", text, session=session, agent=agent))
            elif kind == "image":
                self.n += 1
                kind = "prompt" if role == "user" else "text"
                out.append(Event(self.n, kind, "[image]", session=session, agent=agent))
        return out

    def _whole(self, msg: Message, session: str, agent: str) -> list[Event]:
        """The event of a message taken as a whole (a summary, a system line, a compaction
        summary), or none (a meta message)."""
        allow = self.allow
        if msg.role == "summary":
            self.n += 1
            text = scrub_short(msg.blocks[0].text, 300, allow, msg.blocks[0].fired)
            return [Event(self.n, "summary", text, session=session, agent=agent)]
        if msg.role == "system":
            kind = "compaction" if "compact" in msg.subtype else "error"
            self.n += 1
            text = scrub_short(msg.blocks[0].text, 600, allow, msg.blocks[0].fired)
            return [Event(self.n, kind, text, session=session, agent=agent)]
        if msg.is_meta:
            return []
        text = " ".join(b.text for b in msg.blocks if b.kind == "text")  # a compaction summary
        self.n += 1
        text = scrub_short(text, 2_000, allow)
        return [Event(self.n, "compaction", text, session=session, agent=agent)]

    def _text(self, block: Block, msg: Message, session: str, agent: str) -> Event | None:
        text, interrupted = clean_text(block.text)
        if not text and not interrupted:
            return None
        # The block's triggers (when noted) hold for a piece of it, not for what cleaning joined
        # anew; the search for the piece is only made when there is a note to keep.
        fired = block.fired if block.fired >= 0 and text in block.text else None
        self.n += 1
        role = msg.role
        if role == "assistant" and msg.is_api_error:
            text = scrub_short(text, 600, self.allow, fired)
            return Event(self.n, "error", text, session=session, agent=agent)
        if role == "user" and not text:  # a bare interrupt marker
            self.after_interrupt = True
            return Event(self.n, "interrupt", session=session, agent=agent)
        text = scrub_short(text, self.opts.text_chars, self.allow, fired)
        if role != "user":
            return Event(self.n, "text", text, session=session, agent=agent)
        interrupted = interrupted or self.after_interrupt
        self.after_interrupt = False
        return Event(self.n, "prompt", text, session=session, agent=agent, interrupted=interrupted)

    def _call(self, block: Block, cwd: str, session: str, agent: str) -> Event:
        self.next_call += 1
        self.calls[block.tool_id] = (self.next_call, block.name)
        change = (
            edit_change(_edit_input(block.input, self.allow, block.fired))  # scrubbed, then cut
            if block.name in _EDIT_TOOLS
            else ""
        )
        params = _params(block.input, cwd, self.opts.param_chars, self.allow, block.fired)
        self.n += 1
        return Event(
            self.n,
            "call",
            session=session,
            agent=agent,
            tool=block.name,
            call=self.next_call,
            params=params,
            change=change,
        )

    def _result(self, block: Block, cwd: str, session: str, agent: str) -> Event:
        number, name = self.calls.pop(block.tool_id, (0, "?"))
        is_error = block.is_error
        errors: list[str] = []
        if block.excerpt is not None:  # made ahead (learn.ahead)
            text, errors = block.excerpt, block.errors
        elif name in FILE_READERS and not is_error:
            text = lines_read(block.text, cwd)
        else:
            raw = strip_cwd(block.text, cwd)
            fired = block.fired if raw is block.text else None  # none for the text made anew
            text, errors = result_excerpt(
                raw, self.opts, want_errors=is_error, allow=self.allow, fired=fired
            )
        if block.images:
            text += f"\n[{block.images} image(s)]"
        self.n += 1
        if is_error:
            return Event(
                self.n,
                "result",
                text,
                session=session,
                agent=agent,
                tool=name,
                call=number,
                is_error=True,
                error_lines=errors,
            )
        return Event(self.n, "result", text, session=session, agent=agent, tool=name, call=number)


_LABELS = {
    "text": "ASSISTANT",
    "thinking": "THINKING",
    "error": "ERROR",
    "interrupt": "INTERRUPTED BY THE USER",
    "compaction": "COMPACTION",
    "summary": "SUMMARY",
}


def render_event(ev: Event) -> str:
    """One event as compact text: a tagged first line, continuation lines indented."""
    kind = ev.kind
    if kind == "call":
        args = ", ".join([f"{k}={_inline(v)}" for k, v in ev.params.items()])
        return f"[{ev.n}] CALL #{ev.call} {ev.tool}({args})\n"
    if kind == "result":
        tag = "RESULT ERROR" if ev.is_error else "RESULT"
        return _block(f"[{ev.n}] {tag} #{ev.call} {ev.tool}:", ev.text)
    if kind == "prompt":
        label = "USER (after interrupt)" if ev.interrupted else "USER"
    else:
        label = _LABELS[kind]
    if not ev.text:
        return f"[{ev.n}] {label}\n"
    return _block(f"[{ev.n}] {label}:", ev.text)


_NEEDS_QUOTES = re.compile(r'[ ,()"\n=]')


def _inline(value: str) -> str:
    """The value as is, or quoted (JSON) when it holds a space or a character of the call syntax.
    A space, the usual reason, is looked for first: ``in`` costs less than the pattern."""
    if " " in value or _NEEDS_QUOTES.search(value):
        return orjson.dumps(value).decode()
    return value


def _block(head: str, text: str) -> str:
    """``head`` and ``text`` on one line, or ``text``'s lines indented under ``head``."""
    if "\n" in text and _breaks_only_at_newlines(text):
        return f"{head}\n  | {text.replace(chr(10), _INDENTED_BREAK)}\n"
    lines = text.splitlines()
    if len(lines) <= 1:
        return f"{head} {lines[0]}\n" if lines else f"{head} \n"
    return f"{head}\n  | " + _INDENTED_BREAK.join(lines) + "\n"


_INDENTED_BREAK = "\n  | "


def _breaks_only_at_newlines(text: str) -> bool:
    """Whether ``text`` splits into lines at "\n" only, and not after its end: then one replace
    indents a text of many lines as splitting and joining would, without a string per line. A
    few ``in`` tests cost less than that split (not less than the split of a single line)."""
    if not text.isascii() or text.endswith("\n"):
        return False
    return not (  # the other breaks of str.splitlines in ASCII (written out: a loop costs more)
        "\r" in text
        or "\x0b" in text
        or "\x0c" in text
        or "\x1c" in text
        or "\x1d" in text
        or "\x1e" in text
    )


class _ChunkWriter:
    """Digest chunks, each gathered in memory (one budget's worth) and written when it closes."""

    def __init__(self, out_dir: Path, budget_chars: int, title: str) -> None:
        self.out_dir, self.budget, self.title = out_dir, budget_chars, title
        self.paths: list[Path] = []
        self.parts: list[str] = []  # the open chunk
        self.open = False
        self.size = 0
        self.total = 0
        self.context = ""  # the current section header, restated at the top of a new chunk

    def _open(self) -> None:
        self.close()
        self.paths.append(self.out_dir / f"digest-{len(self.paths) + 1:03d}.md")
        self.open = True
        self.size = 0
        self._write(f"# {self.title} — part {len(self.paths)}\n\n")
        if self.context:
            self._write(self.context)

    def _write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        self.total += len(text)

    def section(self, header: str) -> None:
        self.context = header
        if not self.open:
            self._open()
        else:
            self._write("\n" + header)

    def add(self, text: str) -> None:
        """``_write`` written out: this runs for every event."""
        size = len(text)
        if not self.open or (self.size + size > self.budget and self.size > len(self.context) + 80):
            self._open()
        self.parts.append(text)
        self.size += size
        self.total += size

    def close(self) -> None:
        if self.open:
            # Encoded part by part: most are ASCII, which is encoded by copying; joined, one
            # wider character makes the whole chunk wide, and slower to encode. Then written
            # at once (a text file's writes cost more per part than the encoding).
            self.paths[-1].write_bytes(b"".join([part.encode() for part in self.parts]))
            self.parts = []
            self.open = False


def _section_header(session: str, agent: str) -> str:
    who = agent or "main thread"
    return f"## Session {session or '?'} — {who}\n\n"


def _messages(
    files: list[SessionFile], stats: ReadStats, opts: DigestOptions, meanwhile: Callable[[], None]
) -> Iterator[Message]:
    """The messages of ``files``: read in a second process when asked, or (``None``) when the
    input is large enough to gain from it (``learn.transcripts.background``); else here.
    ``meanwhile`` is run first (while the second process starts, if there is one)."""
    sources = [(f.path, f.agent) for f in files]
    background = opts.background
    if background is None:
        background = worth_a_process([_file_size(f.path) for f in files])
    if background:
        return read_in_background(sources, stats, prepare=_ahead(opts), meanwhile=meanwhile)
    meanwhile()
    return read_sessions(sources, stats)


def _ahead(opts: DigestOptions) -> Ahead:
    """What the reader's process does ahead (learn.ahead)."""
    limits = Limits(opts.result_head, opts.result_tail, opts.result_error_lines)
    return Ahead(limits, opts.email_allow)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the reader reports it


def build_digest(
    files: Iterable[SessionFile],
    out_dir: Path,
    opts: DigestOptions | None = None,
    title: str = "Session digest",
) -> DigestResult:
    """Stream ``files`` into ``out_dir`` (digest chunks, events.jsonl, manifest.json)."""
    opts = opts or DigestOptions()
    files = list(files)
    forget_scrubbed()
    out_dir.mkdir(parents=True, exist_ok=True)
    # An earlier digest's files are removed rather than overwritten (truncating a large file
    # costs more than writing a new one); its chunks while the reader starts, before any
    # chunk is written.
    (out_dir / "events.jsonl").unlink(missing_ok=True)
    stale = list(out_dir.glob("digest-*.md"))
    stats = ReadStats()
    builder = _EventBuilder(opts)
    writer = _ChunkWriter(out_dir, opts.token_budget * CHARS_PER_TOKEN, title)
    sessions: list[str] = []
    section = ("", "")
    encode_lines, add = _EVENT_ENCODER.encode_lines, writer.add
    seen_sessions: set[str] = set()
    n_events = n_prompts = n_tool_errors = 0
    unwritten: list[Event] = []  # the events not yet encoded into events.jsonl
    with (out_dir / "events.jsonl").open("wb", buffering=_WRITE_BUFFER) as events_fh:
        for msg in _messages(files, stats, opts, meanwhile=lambda: _remove(stale)):
            if msg.session_id and msg.session_id not in seen_sessions:
                seen_sessions.add(msg.session_id)
                sessions.append(msg.session_id)
            events = builder.events(msg)
            if not events:
                continue
            first = events[0]  # one message: one session, one agent
            if (first.session, first.agent) != section:
                section = (first.session, first.agent)
                writer.section(_section_header(*section))
            for ev in events:
                add(render_event(ev))
                if ev.kind == "prompt":
                    n_prompts += 1
                elif ev.is_error and ev.kind == "result":
                    n_tool_errors += 1
            unwritten += events
            if len(unwritten) >= _EVENTS_PER_WRITE:
                events_fh.write(encode_lines(unwritten))
                unwritten = []
            n_events += len(events)
        events_fh.write(encode_lines(unwritten))
    writer.close()
    result = DigestResult(
        out_dir=out_dir,
        chunks=writer.paths,
        stats=stats,
        events=n_events,
        chars_out=writer.total,
        prompts=n_prompts,
        tool_errors=n_tool_errors,
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


_EVENT_ENCODER = msgspec.json.Encoder()
_EVENT_DECODER = msgspec.json.Decoder(Event)


def load_events(out_dir: Path) -> Iterator[Event]:
    """Read back the events a digest wrote."""
    with (out_dir / "events.jsonl").open("rb") as fh:
        for raw in fh:
            yield _EVENT_DECODER.decode(raw)


_OUTPUT_NAMES = re.compile(r"manifest\.json|events\.jsonl|digest-\d+\.md")


def check_out_folder(out_dir: Path) -> None:
    """Refuse to write a digest over something else: ``out_dir`` must be new, an empty folder,
    or the output of an earlier digest (only its files, and its manifest)."""
    from learn.errors import UsageError

    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise UsageError(
            f"--out {out_dir} is a file, not a folder", fix="pass a folder for the digest"
        )
    names = {p.name for p in out_dir.iterdir()}
    if not names:
        return
    ours = all(_OUTPUT_NAMES.fullmatch(n) for n in names) and _is_manifest(
        out_dir / "manifest.json"
    )
    if not ours:
        raise UsageError(
            f"--out {out_dir} is not empty and is not an earlier digest's folder",
            fix="pass a new or empty folder (nothing was written)",
        )


def _is_manifest(path: Path) -> bool:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    return isinstance(data, dict) and {"chunks", "sources", "events"} <= data.keys()
