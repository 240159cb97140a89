"""Markdown code spans that keep their text as it was, backticks included (CommonMark).

A compiler error that quotes a name in backticks (Rust's "cannot find value `x`", ESLint's
rules) or a README line with inline code must read the same in a learned doc as in the
terminal, so that a search for the message finds it. A span is fenced with one backtick more
than the longest run of backticks inside it, and padded with a space on each side when it holds
one, or when it starts and ends with a space (CommonMark strips one such space from each side).
"""

from __future__ import annotations

import re

__all__ = ["SPAN", "close_spans", "code_span"]

_RUN = re.compile(r"`+")
# A code span, to put in a pattern (once): its text, padding included, is the group "code".
SPAN = r"(?<!`)(?P<fence>`+)(?!`)(?P<code>.+?)(?<!`)(?P=fence)(?!`)"


def code_span(text: str) -> str:
    """``text`` (one line) as one Markdown code span."""
    runs = _RUN.findall(text)
    fence = "`" * (max(map(len, runs)) + 1 if runs else 1)
    if runs or (text[:1] == text[-1:] == " " and text.strip()):
        return f"{fence} {text} {fence}"  # the padding is what CommonMark strips
    return f"{fence}{text}{fence}"


def close_spans(text: str) -> str:
    """``text`` (Markdown cut short) with the code span it ends inside, if any, closed.

    A span opens at a run of backticks and closes at the next run of the same length; runs of
    another length inside it are its text.
    """
    fence = 0
    for run in _RUN.finditer(text):
        n = run.end() - run.start()
        if not fence:
            fence = n
        elif n == fence:
            fence = 0
    if not fence:
        return text
    return text + (" " if fence > 1 else "") + "`" * fence
