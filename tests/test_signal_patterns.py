"""learn.lessons.signals: the fast paths give exactly what the plain patterns give.

``Folded`` searches lower-cased ASCII text with a lower-cased pattern (and skips text without
any of its ``needs``); ``_words`` splits a line with ``str.split`` when shlex would split it
the same. Both are checked against the originals on generated text made of the patterns' own
words in every case, with noise, non-ASCII letters and shell quoting.
"""

from __future__ import annotations

import re
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learn.lessons import candidates
from learn.lessons import signals as sg

FOLDED = {
    name: value
    for module in (sg, candidates)
    for name, value in vars(module).items()
    if isinstance(value, sg.Folded)
} | {f"HARNESS[{k}]": v for k, v in sg.HARNESS.items() if isinstance(v, sg.Folded)}


def _words_of(pattern: str) -> list[str]:
    """The literal words and phrases of a pattern's alternatives."""
    return [w for w in re.findall(r"[A-Za-z][A-Za-z' :!-]*[A-Za-z:!]", pattern) if len(w) > 1]


WORDS = sorted({w for f in FOLDED.values() for w in _words_of(f.pattern.pattern)})
FRAGMENTS = WORDS + [f"{w} 7" for w in WORDS] + [f"7 {w}" for w in WORDS]  # "exit code 7"
NOISE = [" ", "\n", "  ", ": ", "1", "0", "42", "E ", "$ ", "[x]", "(", ")", ".", "'", "é", "K"]


@st.composite
def texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(FRAGMENTS + NOISE), max_size=14))
    case = draw(st.sampled_from([str, str.upper, str.lower, str.title, str.swapcase]))
    text = "".join(case(p) if draw(st.booleans()) else p for p in parts)
    return text + draw(st.text(max_size=6))


def _same(found: re.Match[str] | None, expected: re.Match[str] | None) -> bool:
    if found is None or expected is None:
        return found is expected
    return found.span() == expected.span() and found.groups() == expected.groups()


@pytest.mark.parametrize("name", sorted(FOLDED))
def test_a_folded_pattern_has_its_words(name: str) -> None:
    assert len(_words_of(FOLDED[name].pattern.pattern)) >= 1


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts())
def test_property_folded_search_is_the_case_insensitive_search(text: str) -> None:
    for name, folded in FOLDED.items():
        assert _same(folded.search(text), folded.pattern.search(text)), (name, text)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS + NOISE), max_size=3).map("".join))
def test_property_every_match_has_one_of_the_needed_words(text: str) -> None:
    for name, folded in FOLDED.items():
        found = folded.pattern.search(text)
        if folded.needs and found is not None and found.group(0).isascii():
            assert any(word in found.group(0).lower() for word in folded.needs), (name, text)


def test_folded_examples() -> None:
    line = "  E   AssertionError: assert 1 == 2"
    assert sg.ERROR_LINE.search(line) is not None
    assert sg.ERROR_LINE.search(line.upper()) is not None
    assert sg.ERROR_LINE.search("all 12 tests passed") is None
    assert sg.ERROR_LINE.search("zsh: command not found: foo") is not None
    assert sg.ERROR_LINE.search("\u212aeyError: 'x'") is not None  # Kelvin sign: the slow path
    said = sg.USER_SAID.search("The user said:\n  Use pnpm, not npm")
    assert said is not None and said.group(1) == "Use pnpm, not npm"


LINE_PARTS = ["git", "commit", "-m", "msg", "'quoted words'", '"x y"', "\\", "a\\ b", "=", "\t"]
LINE_PARTS += ["\x0b", "\u00a0", "\u3000", " ", "  ", "VAR=1", "python", "-m", "pytest", "'"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(LINE_PARTS), max_size=12).map(" ".join))
def test_property_words_split_as_shlex_does(line: str) -> None:
    try:
        expected = shlex.split(line)
    except ValueError:
        expected = line.split()
    assert sg._words(line) == expected


def test_program_names_what_runs() -> None:
    assert sg.program("cd app && FOO=1 python -m pytest -q tests/") == "python -m pytest"
    assert sg.program("npm run build 2>&1 | tail -5") == "npm run build"
    assert sg.program("git commit -m 'fix: quoted message'") == "git commit"
