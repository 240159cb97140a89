"""Three-way merge of one learned doc, for a learn branch rebuilt on a trunk that moved.

Two learn branches made from the same trunk may both grow the same topic doc (a new entry, a new
tripwire, one more session in ``learned_from``). Git sees two edits of the same lines and stops;
this module knows what a learned doc is and merges it instead:

- front matter: list fields (``read_when``, ``tripwires``, ``learned_from.sessions``) merge as
  sets over the common ancestor (what either side added is kept, what either side removed stays
  removed), ``last_updated`` is the later date, other fields take the side that changed them;
- body: a line-based three-way merge in which a conflict keeps both sides (trunk first), then a
  Markdown list entry that now appears twice is kept once. Two docs created on both sides (no
  ancestor) are merged over the lines they have in common.

A text that does not parse as a learned doc gets the line merge alone. Deterministic: the same
three versions always give the same bytes.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from learn.errors import DocError
from learn.learned_docs import LearnedDoc, parse, render

__all__ = ["LineMerge", "merge_doc", "merge_lists"]

T = TypeVar("T")
LineMerge = Callable[[str, str, str], str]  # (base, ours, theirs) -> merged, conflicts as a union


def merge_lists(base: Sequence[T], ours: Sequence[T], theirs: Sequence[T]) -> list[T]:
    """Ours, then what theirs added; minus what either side removed from ``base``."""
    removed = [x for x in base if x not in ours or x not in theirs]
    merged = [*ours, *(x for x in theirs if x not in ours)]
    out: list[T] = []
    for x in merged:
        if x not in removed and x not in out:
            out.append(x)
    return out


def merge_doc(
    path: str, base: str | None, ours: str | None, theirs: str | None, lines: LineMerge
) -> str | None:
    """The merged text of the doc at ``path`` (None: it stays deleted).

    ``ours`` is the trunk's version, ``theirs`` the learn branch's, ``base`` their common
    ancestor's; None where the file does not exist.
    """
    if theirs == base:
        return ours
    if ours in (base, theirs):
        return theirs
    if theirs is None:  # the branch removed a doc the trunk changed: keep the trunk's
        return ours
    if ours is None:  # the trunk removed a doc the branch changed: the review decides
        return theirs
    try:
        old = parse(base, path=path) if base is not None else None
        mine, other = parse(ours, path=path), parse(theirs, path=path)
    except DocError:
        return _body_merge(base, ours, theirs, lines)
    return render(_merge_parsed(old, mine, other, lines))


def _merge_parsed(
    base: LearnedDoc | None, ours: LearnedDoc, theirs: LearnedDoc, lines: LineMerge
) -> LearnedDoc:
    b = base or replace(ours, read_when=[], tripwires=[], sessions=[], extra={}, body="")
    dates = [d for d in (ours.last_updated, theirs.last_updated) if d]
    extra = dict(ours.extra)
    for key, value in theirs.extra.items():
        if ours.extra.get(key) == b.extra.get(key):
            extra[key] = value
    for key in b.extra:
        if key not in theirs.extra and ours.extra.get(key) == b.extra.get(key):
            extra.pop(key, None)
    return replace(
        ours,
        title=_pick(b.title if base else ours.title, ours.title, theirs.title),
        read_when=merge_lists(b.read_when, ours.read_when, theirs.read_when) or ours.read_when,
        tripwires=merge_lists(b.tripwires, ours.tripwires, theirs.tripwires),
        issue=_pick(b.issue if base else ours.issue, ours.issue, theirs.issue),
        sessions=merge_lists(b.sessions, ours.sessions, theirs.sessions),
        last_updated=max(dates) if dates else None,
        extra=extra,
        body=_body_merge(base.body if base else None, ours.body, theirs.body, lines),
    )


def _pick(base: T, ours: T, theirs: T) -> T:
    """The side that changed it (the trunk when both did)."""
    return theirs if ours == base else ours


def _body_merge(base: str | None, ours: str, theirs: str, lines: LineMerge) -> str:
    common = base if base is not None else _common_lines(ours, theirs)
    return _dedupe_entries(lines(common, ours, theirs))


def _common_lines(a: str, b: str) -> str:
    """The lines ``a`` and ``b`` share, in order: the ancestor of two docs created apart."""
    left, right = a.splitlines(keepends=True), b.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    return "".join(
        "".join(left[m.a : m.a + m.size]) for m in matcher.get_matching_blocks() if m.size
    )


def _dedupe_entries(text: str) -> str:
    """Drop a Markdown list entry (with its indented continuation lines) seen before."""
    blocks: list[list[str]] = []
    for line in text.splitlines(keepends=True):
        continues = line.startswith(("  ", "\t")) and blocks and blocks[-1][0].startswith("- ")
        if continues:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    seen: set[str] = set()
    out: list[str] = []
    for block in blocks:
        key = "".join(block).rstrip("\n")
        if block[0].startswith("- "):
            if key in seen:
                continue
            seen.add(key)
        out.extend(block)
    return "".join(out)
