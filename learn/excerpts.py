"""What the digest keeps of a tool result: its head, its error lines and its tail, scrubbed.

Used by the digest (:mod:`learn.digest`) and, for the results it makes ahead when it has time
to spare, by the background reader's process (:mod:`learn.ahead`): the same function, so the
same text either way.
"""

from __future__ import annotations

from typing import Protocol

from learn.error_lines import error_spans
from learn.privacy.outbound import scrub, scrub_slice

__all__ = ["ResultLimits", "result_excerpt", "shorten"]


class ResultLimits(Protocol):
    """How much of a tool result is kept (``DigestOptions`` has these)."""

    @property
    def result_head(self) -> int: ...
    @property
    def result_tail(self) -> int: ...  # test runners put their summary last
    @property
    def result_error_lines(self) -> int: ...


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - limit // 5]}… [+{len(text) - (limit - limit // 5):,} chars]"


def _nth_newline(text: str, n: int) -> int:
    """Offset just past the n-th line (len(text) if there are fewer lines)."""
    pos, find = 0, text.find
    for _ in range(n):
        pos = find("\n", pos) + 1
        if pos == 0:
            return len(text)
    return pos


def _nth_newline_from_end(text: str, n: int) -> int:
    """Offset where the last n lines start."""
    pos = len(text) - 1 if text.endswith("\n") else len(text)  # the final newline ends a line
    rfind = text.rfind
    for _ in range(n):
        found = rfind("\n", 0, pos)
        if found == -1:
            return 0
        pos = found
    return pos + 1 if pos < len(text) and text[pos] == "\n" else pos


_SCRUB_WHOLE = 16_000  # characters: a longer tool result is scrubbed piece by piece


def result_excerpt(
    text: str,
    opts: ResultLimits,
    *,
    want_errors: bool = True,
    allow: tuple[str, ...] = (),
    fired: int | None = None,
) -> tuple[str, list[str]]:
    """Head + error lines + tail of a tool result, and (if wanted) the error lines on their own.
    Each piece kept is scrubbed (secrets, personal data) before any cut, as the whole text would
    be (``scrub_slice``: a secret across a piece's edge is found whole). ``fired``: the privacy
    triggers of ``text`` (``Block.fired``), when known."""

    whole = len(text) <= _SCRUB_WHOLE  # scanning it all costs less than the pieces' margins
    if whole:
        text = scrub(text, allow, fired)

    def piece(a: int, b: int) -> str:
        return text[a:b] if whole else scrub_slice(text, a, b, allow, fired)

    errors: list[str] = []
    if want_errors:
        spans = error_spans(text, 0, len(text), opts.result_error_lines)
        errors = [piece(a, b).strip()[:300] for a, b in spans]
    keep = opts.result_head + opts.result_tail + opts.result_error_lines
    if len(text) <= 2_000 and text.count("\n") < keep:
        return text, errors
    head_end = _nth_newline(text, opts.result_head)
    tail_start = max(head_end, _nth_newline_from_end(text, opts.result_tail))
    picked = [
        piece(a, b) for a, b in error_spans(text, head_end, tail_start, opts.result_error_lines)
    ]
    middle_lines = text.count("\n", head_end, tail_start)
    omitted = max(0, middle_lines - len(picked))
    head = piece(0, head_end).splitlines()
    tail = piece(tail_start, len(text)).splitlines()
    body = [*head, f"… [{omitted:,} lines omitted]", *picked, *tail]
    return shorten("\n".join([ln[:300] for ln in body]), 3_000), errors
