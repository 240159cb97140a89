"""Topic docs from candidate lessons: short entries, tripwires once, merged into what exists.

Each topic is one doc, ``docs/learned/<category>/<slug>.md``. Errors that a command or tool call
ran into become **tripwires** (front matter only: "running X → fails with Y; what worked: Z");
everything else is one bullet in the body ("When …, …"). Merging with an existing doc keeps its
entries, replaces an entry whose lesson is the same (same normalised key: the newest evidence
wins), appends new ones, and keeps ``learned_from.sessions`` growing. Nothing is written when no
candidate is worth keeping. Every string is plain text: no ANSI or control characters, and a cut
ends with "…".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TypeVar

from learn.code_spans import SPAN, close_spans, code_span
from learn.errors import DocError
from learn.learned_docs import LearnedDoc, Tripwire, parse, write_doc
from learn.lessons import signals as sg
from learn.lessons.candidates import Candidate
from learn.lessons.topics import Topic, topic_of

__all__ = [
    "BUDGET_CHARS",
    "DOC_OVERHEAD",
    "MAX_CHECKS",
    "MAX_ENTRIES",
    "MAX_TRIPWIRES",
    "MIN_CONFIDENCE",
    "Lesson",
    "Plan",
    "T",
    "code",
    "cut",
    "key_of",
    "merge",
    "plan",
    "render",
    "write",
]

T = TypeVar("T")
MIN_CONFIDENCE = 0.45
BUDGET_CHARS = 3_700  # lesson text per run (entries and tripwires), about 750 tokens
DOC_OVERHEAD = 330  # front matter, heading and index line of one more doc
MAX_ENTRIES = 14  # per doc, oldest dropped first
MAX_TRIPWIRES = 10
MAX_CHECKS = 3  # verification commands per run


@dataclass(slots=True)
class Lesson:
    """One rendered lesson: a tripwire or a body entry, with the key it is deduplicated by."""

    topic: Topic
    key: str
    tripwire: Tripwire | None = None
    entry: str = ""

    @property
    def size(self) -> int:
        if self.tripwire is not None:
            return len(self.tripwire.action) + len(self.tripwire.warning) + 24
        return len(self.entry) + 1


@dataclass(slots=True)
class Plan:
    """The lessons chosen for each topic."""

    topics: dict[str, Topic] = field(default_factory=dict)
    lessons: dict[str, list[Lesson]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.lessons


def cut(text: str, limit: int) -> str:
    """``text`` on one line, plain, at most ``limit`` characters; a cut ends with "…"."""
    text = " ".join(sg.plain(text).split())
    if len(text) <= limit:
        return text
    piece = text[: limit - 1]
    space = piece.rfind(" ")
    if space >= limit // 2:
        piece = piece[:space]
    return piece.rstrip(" ,;:.") + "…"


def code(text: str, limit: int) -> str:
    return code_span(cut(text, limit))


def key_of(text: str) -> str:
    """The normalised form two lessons are compared by."""
    text = re.sub(r"0x[0-9a-f]+|\d+", "#", sg.plain(text).casefold())
    return " ".join(re.sub(r"[^\w#]+", " ", text).split())[:160]


def _name(path: str) -> str:
    return PurePosixPath(path.replace("\\", "/")).name or path


def _outside(path: str) -> bool:
    """A path outside the repository (the digest makes the repository's paths relative)."""
    return path.startswith(("/", "~", "\\")) or bool(re.match(r"^[A-Za-z]:", path))


def _cut_changes(text: str, limit: int) -> str:
    """``text`` ("file: `a` → `b`; + `c`") cut after its last whole change that fits, when
    one ends past the middle, else as :func:`cut` does; a code span cut short is closed."""
    whole = " ".join(sg.plain(text).split())
    if len(whole) <= limit:
        return whole
    end = whole.rfind("`; ", 0, limit - 2)
    if end >= limit // 2:
        return close_spans(whole[: end + 1]) + "; …"
    return close_spans(cut(whole, limit - 1))


def _changes(c: Candidate, limit: int = 2) -> str:
    if c.changes:
        ranked = sorted(c.changes, key=lambda ch: _outside(ch))
        shown = []
        for change in ranked[:limit]:
            path, _, diff = change.partition(": ")
            shown.append(_cut_changes(f"{_name(path)}: {diff}", 120))
        return "; ".join(shown)
    if c.files:
        names = list(dict.fromkeys(_name(f) for f in c.files))
        more = f" (+{len(names) - 3} more)" if len(names) > 3 else ""
        return "changed " + ", ".join(names[:3]) + more
    return ""


def render(c: Candidate) -> Lesson:
    """The lesson ``c`` teaches, as a tripwire or an entry."""
    topic = topic_of(c)
    if c.kind == "error_fixed" and c.source in ("tool", "harness", "subagent") and c.command:
        shell = c.tool in sg.SHELL_TOOLS
        action = (
            f"running {code(sg.clean_command(c.command), 90)}"
            if shell
            else (
                f"{c.tool} on {code(_name(c.command.split(' ', 1)[-1]), 80)}"
                if c.source != "subagent"
                else "delegating to a subagent"
            )
        )
        warning = f"fails with {code(c.error, 160)}"
        if c.count > 1:
            warning += f" (\u00d7{c.count})"  # "(x3)" with a multiplication sign
        if c.fix:
            warning += f"; what worked: {code(c.fix, 110)}"
        change = _changes(c, 1)
        if change:
            warning += f"; fixed by {change}"
        if c.said:
            warning += f"; then told: “{cut(c.said, 150)}”"
        elif c.note and not c.fix and not change:
            warning += f" — {cut(c.note, 150)}"
        return Lesson(topic, key_of(action + c.error), tripwire=Tripwire(action, warning))
    if c.kind == "error_fixed":
        entry = f"When {code(c.error, 200)} shows up"
        if c.source == "pasted":
            entry = f"When the user reports {code(c.error, 200)}"
            if c.command:
                entry = f"When {code(c.command, 80)} fails with {code(c.error, 200)}"
        entry += _what_followed(c, ", the fix was: ", ", what worked: ")
        return Lesson(topic, key_of(c.error), entry=f"- {entry}.")
    if c.kind == "user_correction":
        lead = "The user reported" if c.source == "bug-report" else "The user said"
        entry = f"{lead}: “{cut(c.said, 200)}”"
        entry += _what_followed(c, " → ", " → ran ")
        return Lesson(topic, key_of(c.said), entry=f"- {entry}")
    entry = f"Check the work with {code(c.command, 120)}"
    if c.outcome:
        entry += f" (last run: {cut(c.outcome, 100)})"
    if c.commands:
        entry += "; also " + ", ".join(code(other, 90) for other in c.commands[-2:])
    return Lesson(topic, key_of(c.command), entry=f"- {entry}.")


def _what_followed(c: Candidate, fixed: str, ran: str) -> str:
    """The change that answered a lesson (else the command run), and the check that passed."""
    done = _changes(c)
    out = f"{fixed}{done}" if done else (f"{ran}{code(c.commands[0], 100)}" if c.commands else "")
    return out + (f"; checked with {code(c.check, 80)}" if c.check else "")


def plan(candidates: list[Candidate], budget: int = BUDGET_CHARS) -> Plan:
    """Choose the lessons worth writing: most confident first, within ``budget`` characters."""
    chosen = Plan()
    used = 0
    seen: set[str] = set()
    ranked = sorted(
        (c for c in candidates if c.confidence >= MIN_CONFIDENCE),
        key=lambda c: (-c.confidence, c.n),
    )
    checks = 0
    for c in ranked:
        if c.kind == "verification":
            if checks >= MAX_CHECKS:
                continue
            checks += 1
        lesson = render(c)
        topic_key = f"{lesson.topic.category}/{lesson.topic.slug}"
        if lesson.key in seen:
            continue
        cost = lesson.size + (0 if topic_key in chosen.topics else DOC_OVERHEAD)
        if used + cost > budget:
            continue
        seen.add(lesson.key)
        used += cost
        chosen.topics.setdefault(topic_key, lesson.topic)
        chosen.lessons.setdefault(topic_key, []).append(lesson)
    return chosen


def _entries(body: str) -> list[str]:
    """The bullet entries of a doc body (continuation lines joined)."""
    entries: list[str] = []
    for line in body.splitlines():
        if line.startswith("- "):
            entries.append(line)
        elif line.startswith("  ") and entries:
            entries[-1] += "\n" + line
    return entries


def _entry_key(entry: str) -> str:
    match = re.search(r"“(.+?)”|" + SPAN, entry)  # the first quote or code span
    return key_of(match.group(1) or match.group("code")) if match else key_of(entry)


def _tripwire_key(t: Tripwire) -> str:
    """The same action with the same way out is the same lesson (its error text may vary);
    without a way out, the error tells lessons apart."""
    worked = re.search(r"what worked: " + SPAN, t.warning)
    return f"{key_of(t.action)}|" + (
        key_of(worked.group("code")) if worked else _entry_key(t.warning)
    )


def _lesson_entry_key(lesson: Lesson) -> str:
    return _entry_key(lesson.entry)


def _upsert(items: list[T], new: T, key: Callable[[T], str]) -> list[T]:
    """``items`` with ``new`` in place of the item with its key (the newest evidence wins),
    or appended."""
    wanted = key(new)
    for i, item in enumerate(items):
        if key(item) == wanted:
            return [*items[:i], new, *[x for x in items[i + 1 :] if key(x) != wanted]]
    return [*items, new]


def merge(
    existing: LearnedDoc | None,
    topic: Topic,
    lessons: list[Lesson],
    sessions: list[str],
    issue: int | None,
) -> LearnedDoc:
    """``existing`` (or a new doc) with ``lessons`` merged in."""
    trips = list(existing.tripwires) if existing else []
    entries = _entries(existing.body) if existing else []
    for lesson in sorted(lessons, key=lambda item: item.key):
        if lesson.tripwire is not None:
            trips = _upsert(trips, lesson.tripwire, _tripwire_key)
        else:
            entries = _upsert(entries, lesson.entry, _entry_key)
    trips, entries = trips[-MAX_TRIPWIRES:], entries[-MAX_ENTRIES:]
    title = existing.title if existing else topic.title
    read_when = existing.read_when if existing else [topic.read_when]
    if topic.read_when not in read_when:
        read_when = [*read_when, topic.read_when]
    body = f"# {title}\n\n" + (
        "\n".join(entries) + "\n" if entries else "See the tripwires above.\n"
    )
    return LearnedDoc(
        category=topic.category,
        slug=topic.slug,
        title=title,
        read_when=read_when,
        body=body,
        tripwires=trips,
        issue=issue if issue is not None else (existing.issue if existing else None),
        sessions=list(sessions),
        extra=dict(existing.extra) if existing else {},
    )


def write(
    chosen: Plan, docs_root: Path, *, sessions: list[str], issue: int | None, today: str
) -> list[tuple[str, str]]:
    """Write the planned docs; (relative path, outcome) for each."""
    results: list[tuple[str, str]] = []
    for topic_key in sorted(chosen.lessons):
        topic = chosen.topics[topic_key]
        path = docs_root / topic.category / f"{topic.slug}.md"
        existing = None
        if path.is_file():
            try:
                existing = parse(path.read_text(encoding="utf-8"), path=path)
            except (DocError, UnicodeDecodeError):  # replaced, as write_doc does
                existing = None
        doc = merge(existing, topic, chosen.lessons[topic_key], sessions, issue)
        outcome = write_doc(docs_root, doc, today=today)
        results.append((f"{topic.category}/{topic.slug}.md", str(outcome)))
    return results
