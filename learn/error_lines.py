"""Where the error lines of a tool result are: the lines that contain an error word.

:func:`error_spans` is defined by the patterns: :data:`ERROR_WORDS` in the lower-cased text, or
:data:`ERROR_LINE` (case-insensitive) where lower-casing changes the text's length. What costs
is the search: tool output is mostly long and mostly free of error words, so a search usually
ends only after every word has been looked for in all of the text. Three ways, the fastest that
applies is used, all giving the same spans:

- ASCII text (most tool output): one Hyperscan pass finds every word at once, without regard to
  ASCII case, which is all that lower-casing does to ASCII text;
- other text whose length lower-casing keeps: ``str.find`` per word in the lower-cased text;
- else the case-insensitive pattern.
"""

from __future__ import annotations

import heapq
import re
from typing import Any

import hyperscan

from learn.multimatch import PatternSet

__all__ = ["ERROR_LINE", "ERROR_WORDS", "error_spans"]

ERROR_LINE = re.compile(
    r"error|exception|traceback|failed|failure|fatal|denied|not found|no such|cannot|"
    r"can't|unable|invalid|refused|exit code [1-9]|✗|\bFAIL",
    re.I,
)
#: The same words for lower-cased text, without re.I ("fail" covers failed, failure and FAIL).
ERROR_WORDS = re.compile(
    r"error|exception|traceback|fail|fatal|denied|not found|no such|cannot|can't|unable|"
    r"invalid|refused|exit code [1-9]|✗"
)
# ERROR_WORDS as plain substrings (str.find is several times faster than the alternation); "exit
# code [1-9]" is found as its prefix and checked for the digit.
_NEEDLES = tuple(word for word in ERROR_WORDS.pattern.split("|") if word != "exit code [1-9]")
_NEEDLES_ASCII = tuple(word for word in _NEEDLES if word.isascii())
_EXIT_CODE = "exit code "
# Beyond this many error words in one text, the Hyperscan pass stops: the ``str.find`` merge
# then finds the first lines at once (it is slow only where the words are rare).
_MOST_MATCHES = 1_000


def error_spans(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Up to ``limit`` (start, end) spans of the lines in ``text[start:end]`` with an error word,
    in order: each line where the next word is found, the search going on after that line."""
    if text.isascii():
        starts = _ascii_word_starts(text, start, end)
        if starts is not None:
            return _lines_at(text, sorted(starts), limit) if starts else []
    haystack = text.lower()
    if len(haystack) != len(text):
        return _spans_by_pattern(text, start, end, limit)
    return _spans_by_find(text, haystack, start, end, limit)


def _compile() -> hyperscan.Database:
    """The ASCII error words, caseless, reporting where each match starts."""
    words = [word.encode() for word in ERROR_WORDS.pattern.split("|") if word.isascii()]
    flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SOM_LEFTMOST
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=words, ids=[0] * len(words), elements=len(words), flags=[flags] * len(words)
    )
    return db


_PATTERNS = PatternSet(_compile)


def _on_match(_word: int, start: int, _end: int, _flags: int, starts: Any) -> bool:
    starts.append(start)  # ``starts``: the list[int] passed as the scan's context
    return len(starts) >= _MOST_MATCHES  # True stops the scan


def _ascii_word_starts(text: str, start: int, end: int) -> list[int] | None:
    """Where error words start in ASCII ``text[start:end]`` (each word whole inside it), as
    offsets in ``text``; None when there are more than :data:`_MOST_MATCHES`."""
    found: list[int] = []
    try:
        _PATTERNS.scan(text[start:end].encode("ascii"), _on_match, found)
    except hyperscan.ScanTerminated:
        return None
    return [start + at for at in found] if start else found


def _lines_at(text: str, starts: list[int], limit: int) -> list[tuple[int, int]]:
    """The lines of the first ``limit`` lines with a word, from the words' sorted ``starts``."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for at in starts:
        if at < pos:  # on a line already taken
            continue
        if len(spans) == limit:
            break
        spans.append(_line_around(text, at))
        pos = spans[-1][1] + 1
    return spans


def _line_around(text: str, at: int) -> tuple[int, int]:
    """The (start, end) of the line of ``text`` that holds offset ``at``."""
    end = text.find("\n", at)
    return text.rfind("\n", 0, at) + 1, len(text) if end == -1 else end


def _spans_by_find(
    text: str, haystack: str, start: int, end: int, limit: int
) -> list[tuple[int, int]]:
    """The error words found with ``str.find`` in the lower-cased ``haystack`` (offsets map back
    because lower-casing kept the length), merged in order of position: a heap holds each word's
    next occurrence, and a word is searched again only once the scan has passed it."""
    find = haystack.find
    words = _NEEDLES_ASCII if text.isascii() else _NEEDLES
    ahead = [(at, word) for word in words if (at := find(word, start, end)) != -1]
    exit_at = _find_exit_code(haystack, start, end)
    if exit_at != -1:
        ahead.append((exit_at, _EXIT_CODE))
    heapq.heapify(ahead)
    spans: list[tuple[int, int]] = []
    pos = start
    while ahead and len(spans) < limit:
        at, word = ahead[0]
        if at < pos:  # passed: this word's next occurrence
            at = _find_exit_code(haystack, pos, end) if word is _EXIT_CODE else find(word, pos, end)
            if at == -1:
                heapq.heappop(ahead)
            else:
                heapq.heapreplace(ahead, (at, word))
            continue
        spans.append(_line_around(text, at))
        pos = spans[-1][1] + 1
    return spans


def _find_exit_code(haystack: str, pos: int, end: int) -> int:
    """Where "exit code [1-9]" next starts in ``haystack[pos:end]``, or -1."""
    at = haystack.find(_EXIT_CODE, pos, end)
    while at != -1 and not (at + 11 <= end and haystack[at + 10] in "123456789"):
        at = haystack.find(_EXIT_CODE, at + 1, end)
    return at


def _spans_by_pattern(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """For text whose length lower-casing changes: the case-insensitive pattern."""
    spans: list[tuple[int, int]] = []
    pos = start
    while len(spans) < limit:
        match = ERROR_LINE.search(text, pos, end)
        if match is None:
            break
        spans.append(_line_around(text, match.start()))  # no error word spans a line break
        pos = spans[-1][1] + 1
    return spans
