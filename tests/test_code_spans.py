"""Code spans keep their text, backticks included, as a CommonMark parser reads them."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from learn.code_spans import SPAN, close_spans, code_span

_MD = MarkdownIt("commonmark")
# One line of text, thick with backticks and spaces (what commands and error messages hold).
_LINE = st.text(alphabet=st.sampled_from("`` a-b_x' \\*é"), min_size=1, max_size=30).filter(
    lambda t: t.strip()
)


def _inline(markdown: str) -> list[tuple[str, str]]:
    [para] = [t for t in _MD.parse(markdown) if t.type == "inline"]
    return [(t.type, t.content) for t in para.children or []]


@given(_LINE)
def test_a_code_span_reads_back_as_its_text(text: str) -> None:
    assert _inline(code_span(text)) == [("code_inline", text)]


def test_examples() -> None:
    assert code_span("pytest -q") == "`pytest -q`"
    assert code_span("cannot find value `x`") == "`` cannot find value `x` ``"
    assert code_span("run ```make``` or ``x``") == "```` run ```make``` or ``x`` ````"
    assert code_span(" a ") == "`  a  `"


@given(_LINE, st.integers(min_value=1, max_value=60))
def test_a_span_cut_short_is_closed(text: str, keep: int) -> None:
    """Cut anywhere inside its text and closed, a span reads back as a code span of the piece."""
    span = code_span(text)
    fence = len(span) - len(span.lstrip("`"))
    piece = span[: min(fence + keep, len(span) - fence - 1)] + "…"
    closed = close_spans(piece)
    [(kind, content)] = _inline(closed)
    assert kind == "code_inline" and content.rstrip("…").strip() in text


def test_text_with_no_open_span_is_left_alone() -> None:
    assert close_spans("a `b` c") == "a `b` c"
    assert close_spans("`a` → `b…") == "`a` → `b…`"
    assert close_spans("`` a`b…") == "`` a`b… ``"


@given(_LINE, _LINE)
def test_the_span_pattern_finds_a_span_whole(text: str, other: str) -> None:
    found = re.search(f"“(.+?)”|{SPAN}", f"fails with {code_span(text)}; then “{other}”")
    assert found is not None
    code = found.group("code")
    assert code == text or code == f" {text} "
