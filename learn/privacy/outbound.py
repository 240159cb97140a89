"""The one check every text that leaves the machine passes.

What leaves: the digest (chunks and ``events.jsonl``) and the engine prompt, the learned docs
and ``index.md``, commit messages, branch names, PR titles and bodies, issue comments, job
summaries, step outputs and log lines. Each goes through :func:`clean`:

1. :func:`learn.privacy.redact.redact` — our streaming rules (secrets become
   ``[REDACTED:<kind>]``);
2. :func:`learn.privacy.personal.mask` — home directories, ``~/.claude`` paths, e-mail
   addresses;
3. the second pass, :class:`learn.privacy.scanner.Betterleaks`: whatever it still finds is
   masked as ``[REDACTED:<rule>]``.

Learned docs get more: :func:`clean_docs` cleans each changed doc in place, then
:func:`doc_problems` scans it again; a doc that still holds a finding fails the run with its
file and line (never the value), before anything is committed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import ParamSpec

import orjson

from learn.errors import DocError
from learn.privacy import personal, triggers
from learn.privacy.redact import MIN_LEN, SCAN_BITS, find_secrets, redact, redact_head, redact_slice
from learn.privacy.scanner import Betterleaks, ScanFinding, SecretScanner

__all__ = [
    "check_docs",
    "clean",
    "clean_digest",
    "clean_docs",
    "doc_problems",
    "forget_scrubbed",
    "guarded",
    "scanner",
    "scrub",
    "scrub_head",
    "scrub_slice",
]

P = ParamSpec("P")


@functools.cache
def scanner() -> SecretScanner:
    """The second-pass scanner (one per process)."""
    return Betterleaks()


def scrub(text: str, allow: tuple[str, ...] = (), fired: int | None = None) -> str:
    """The fast, in-process part of :func:`clean` (what the digest runs over every string).

    One Hyperscan pass over the text tells both redaction and the mask which of their checks
    can find anything (:mod:`learn.privacy.triggers`); usually none can. ``fired``: those
    triggers, when the caller has them already for this text or for one it is part of (the
    background reader notes them: ``Block.fired``); then there is no pass at all. Short texts
    repeat a lot in a session (paths, commands, search patterns: a third to a half of the
    strings the digest scrubs), so their results are remembered."""
    if fired is not None and fired >= 0:
        return _scrub_fired(text, allow, fired)
    if len(text) <= _MEMO_CHARS:
        return _scrub_memo(text, allow)
    return _scrub(text, allow)


_MEMO_CHARS = 256  # longer texts rarely repeat
_MEMO_ENTRIES = 4096  # at most about 2 MB of short strings and their results


def _scrub(text: str, allow: tuple[str, ...]) -> str:
    if len(text) < MIN_LEN:
        return personal.mask(text, allow)  # no secret is this short; substring checks suffice
    return _scrub_fired(text, allow, triggers.fired(text.encode("utf-8", "surrogatepass")))


def _scrub_fired(text: str, allow: tuple[str, ...], fired: int) -> str:
    if not fired:
        return text
    redacted = redact(text, fired) if fired & SCAN_BITS else text
    return personal.mask(redacted, allow, fired if redacted is text else None)


_scrub_memo = functools.lru_cache(maxsize=_MEMO_ENTRIES)(_scrub)


def forget_scrubbed() -> None:
    """Empty :func:`scrub`'s memory of short texts (each digest starts afresh, so that what it
    costs does not depend on what the process scrubbed before)."""
    _scrub_memo.cache_clear()


def scrub_head(text: str, keep: int, allow: tuple[str, ...] = (), fired: int | None = None) -> str:
    """:func:`scrub` of ``text[:keep]``, as if the whole text had been scrubbed first (what the
    digest runs before it shortens a long text). ``fired``: as for :func:`scrub`."""
    return _mask_part(redact_head(text, keep, fired), text[:keep], allow, fired)


def scrub_slice(
    text: str, start: int, end: int, allow: tuple[str, ...] = (), fired: int | None = None
) -> str:
    """:func:`scrub` of ``text[start:end]`` (line-aligned), as if the whole text had been
    scrubbed first (what the digest runs on the lines it keeps of a tool result). ``fired``: as
    for :func:`scrub`."""
    return _mask_part(redact_slice(text, start, end, fired), text[start:end], allow, fired)


def _mask_part(part: str, piece: str, allow: tuple[str, ...], fired: int | None) -> str:
    """The mask of ``part``, the redacted ``piece`` of a text: the text's triggers hold for it
    only when redaction left the piece as it was (a marker could make a new neighbour)."""
    known = fired is not None and fired >= 0 and part == piece
    return personal.mask(part, allow, fired if known else None)


def _mask(text: str, found: Iterable[ScanFinding]) -> str:
    for f in sorted(found, key=lambda f: -len(f.value)):
        text = text.replace(f.value, f"[REDACTED:{f.rule}]")
    return text


def clean(text: str, allow: tuple[str, ...] = (), *, second: SecretScanner | None = None) -> str:
    """``text`` as it may leave the machine."""
    if not text:
        return text
    text = scrub(text, allow)
    found = (second or scanner()).scan(text)
    return _mask(text, found) if found else text


def guarded(fn: Callable[P, str]) -> Callable[P, str]:
    """Decorate a function that builds outbound text (a PR body, a comment): its result is
    :func:`clean`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        return clean(fn(*args, **kwargs))

    return wrapper


def clean_digest(digest_dir: Path, *, second: SecretScanner | None = None) -> int:
    """The second pass over a digest (already redacted by the first): mask what the scanner
    still finds in the chunks and in ``events.jsonl``. Returns the number of findings."""
    chunks = sorted(digest_dir.glob("digest-*.md"))
    events = digest_dir / "events.jsonl"
    paths = [*chunks, *([events] if events.exists() else [])]
    found = (second or scanner()).scan_files(paths)
    values = [f for fs in found.values() for f in fs]
    if not values:
        return 0
    for path in chunks:
        text = path.read_text(encoding="utf-8")
        masked = _mask(text, values)
        if masked != text:
            path.write_text(masked, encoding="utf-8")
    if events.exists():
        lines = []
        for raw in events.read_bytes().splitlines():
            event = orjson.loads(raw)
            lines.append(orjson.dumps(_mask_value(event, values)))
        events.write_bytes(b"\n".join(lines) + b"\n")
    return len(values)


def _mask_value(value: object, found: list[ScanFinding]) -> object:
    if isinstance(value, str):
        return _mask(value, found)
    if isinstance(value, list):
        return [_mask_value(v, found) for v in value]
    if isinstance(value, dict):
        return {k: _mask_value(v, found) for k, v in value.items()}
    return value


def clean_docs(
    docs_root: Path,
    rels: Sequence[str],
    allow: tuple[str, ...] = (),
    *,
    second: SecretScanner | None = None,
) -> None:
    """Clean each changed Markdown file under ``docs_root`` in place (whoever wrote it)."""
    for rel in rels:
        path = docs_root / rel
        if path.suffix != ".md" or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # the doc validation reports it
        cleaned = clean(text, allow, second=second)
        if cleaned != text:
            path.write_text(cleaned, encoding="utf-8")


def doc_problems(
    text: str, allow: tuple[str, ...] | None = None, *, second: SecretScanner | None = None
) -> list[str]:
    """One line per finding left in a doc, as ``line N: still contains <kind>`` (never the
    value); personal data too when an e-mail allow-list is given."""
    problems = []
    for f in find_secrets(text):
        problems.append((text.count("\n", 0, f.start) + 1, f"a secret ({f.kind})"))
    for offset, kind in personal.findings(text, allow) if allow is not None else []:
        problems.append((text.count("\n", 0, offset) + 1, f"personal data ({kind})"))
    for s in (second or scanner()).scan(text):
        problems.append((s.line, f"a secret ({s.rule})"))
    return [f"line {line}: still contains {what}" for line, what in sorted(set(problems))]


def check_docs(
    docs_root: Path,
    rels: Sequence[str],
    allow: tuple[str, ...] = (),
    *,
    second: SecretScanner | None = None,
) -> None:
    """Raise :class:`DocError` naming the first file and line that still holds a finding."""
    problems = []
    for rel in rels:
        path = docs_root / rel
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        problems += [f"{path}: {p}" for p in doc_problems(text, allow, second=second)]
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DocError(
            f"a learned doc still contains a finding after redaction: {problems[0]}{more}",
            fix="nothing was committed; remove it from the doc",
        )
