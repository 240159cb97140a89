"""Personal data in transcript text: home directories, Claude Code's own files, e-mail addresses.

* A home directory becomes ``~`` in all three forms an OS writes it: ``/home/<user>/…``,
  ``/Users/<user>/…`` and ``C:\\Users\\<user>\\…`` (also ``C:/Users/<user>/…``), so the user
  name is gone and the path after it stays readable.
* A path under ``~/.claude/`` (sessions, settings, plans, todos) is reduced to its file name,
  as ``~/.claude/<name>``: its folder names encode local paths, and the prefix keeps saying that
  the file is the agent's own, outside the repository (the lesson writer ranks such edits last).
* An e-mail address becomes ``[REDACTED:email]``, except addresses at a domain on the allow-list
  (the team's own domain, from the ``email-allow`` setting) or at a domain reserved for examples
  (``example.com``, ``*.example``, ``*.invalid``, ``*.test``, ``localhost``), the ``git@``
  of an SSH remote, and ``noreply@``/``no-reply@`` addresses (nobody's own: Claude Code's
  ``Co-Authored-By: Claude <noreply@anthropic.com>``).
* The name written before a masked address, as git (``Author: Jane Doe <jane@corp.com>``,
  ``Signed-off-by:``, ``Co-authored-by:``), package manifests and mail headers write a person,
  becomes ``[REDACTED:name]``: up to four words right before the ``<``.

:func:`mask` returns the very same string when the text holds none of these (a few substring
checks at C speed decide that, or the Hyperscan pass the text already had, see
:mod:`learn.privacy.triggers`), so it costs next to nothing on most text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from learn.privacy import triggers

__all__ = ["EMAIL_MARKER", "NAME_MARKER", "allowed_domains", "findings", "mask"]

EMAIL_MARKER = "[REDACTED:email]"
NAME_MARKER = "[REDACTED:name]"

# Every pattern starts with a literal, so that ``re`` jumps between its occurrences at C speed;
# what must come before it is checked after the match (or with a lookbehind after the literal).
_USER = (
    r"""(?!Shared[\\/]|Public[\\/])(?P<user>[^\\/\s'"`<>|:*?]{1,64})(?=[\\/]|$|[\s'"`<>|:,;)\]}])"""
)
_HOMES = (
    re.compile(r"/home/(?<![\w./-]/home/)" + _USER),
    re.compile(r"/Users/(?<![\w./-]/Users/)" + _USER),
    re.compile(r"Users\\{1,2}(?<=\\Users\\)" + _USER),
)
_HOME_LITERALS = ("/home/", "/Users/", "Users\\")  # the literal each of _HOMES starts with
_DRIVE = re.compile(r"(?<![A-Za-z])[A-Za-z]:(?:\\{1,2}|/)?$")
# Claude Code names a project's folder after its path: -home-alice-src-app, -Users-bob-dev-x.
_PROJECT_DIRS = (
    re.compile(r"-home-(?<![\w-]-home-)[A-Za-z0-9._]{1,64}(?=-)"),
    re.compile(r"-Users-(?<![\w-]-Users-)[A-Za-z0-9._]{1,64}(?=-)"),
)
_CLAUDE_PATH = re.compile(
    r"""\.claude[\\/]+(?:[^\s'"`<>|,;()\[\]{}]*[\\/])?(?P<name>[^\s'"`<>|,;()\[\]{}\\/]*)"""
)
_CLAUDE_HOME = re.compile(r"(?:~|\$HOME|\$\{HOME\}|/root)[\\/]+$")
_EMAIL = re.compile(
    r"@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24})(?![A-Za-z0-9-])"
)
_LOCAL = re.compile(r"(?<![A-Za-z0-9._%+-])(?<!//)[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}$")
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net", "localhost")
_EXAMPLE_TLDS = (".example", ".invalid", ".test", ".localhost")
_NOT_PERSONAL_LOCAL = frozenset(["git", "noreply", "no-reply"])  # git@github.com:org/repo.git
# A person's name right before their address: "Jane Doe <" (up to four words, from a letter;
# apostrophes straight or typographic, U+2019).
_NAME_BEFORE = re.compile(
    r"(?<![\w.'\u2019-])(?P<name>[^\W\d_][\w.'\u2019-]*(?:[ \t]+[\w.'\u2019-]+){0,3})[ \t]*<$"
)
_PERSONAL_BITS = triggers.HOMES | triggers.PROJECT_DIRS | triggers.CLAUDE | triggers.EMAIL
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}")


def allowed_domains(setting: str | Iterable[str]) -> tuple[str, ...]:
    """The domains of an ``email-allow`` setting (comma- or space-separated, or a list)."""
    text = setting if isinstance(setting, str) else " ".join(setting)
    return tuple(d.lower() for d in _DOMAIN.findall(text))


def _allowed(local: str, domain: str, allow: tuple[str, ...]) -> bool:
    domain = domain.lower()
    if local in _NOT_PERSONAL_LOCAL or domain in _EXAMPLE_DOMAINS:
        return True
    if domain.endswith(_EXAMPLE_TLDS) or domain.endswith(tuple("." + d for d in _EXAMPLE_DOMAINS)):
        return True
    return any(domain == d or domain.endswith("." + d) for d in allow)


Span = tuple[int, int, str, str]  # start, end, replacement, kind


def _fired(text: str) -> int:
    """:func:`learn.privacy.triggers.fired` for the personal-data checks alone, by substring
    checks (cheaper than a Hyperscan pass when that is all that is needed)."""
    fired = 0
    if "/home/" in text or "Users" in text:
        fired |= triggers.HOMES
    if "-home-" in text or "-Users-" in text:
        fired |= triggers.PROJECT_DIRS
    if ".claude" in text:
        fired |= triggers.CLAUDE
    if "@" in text:
        fired |= triggers.EMAIL
    return fired


def _spans(text: str, allow: tuple[str, ...], fired: int | None = None) -> list[Span]:
    """Every piece of personal data, as (start, end, replacement, kind), in text order; home
    directories first, so a ``~/.claude`` path is found in the text as it will read.
    ``fired``: the triggers of ``text`` (or of a text it is part of), when the caller already
    has them; the substring checks narrow them down (both are what a match needs, so what both
    allow is all that can match), which matters when they are a whole block's."""
    if fired is None:
        fired = _fired(text)
    elif fired & _PERSONAL_BITS:
        fired &= _fired(text)
    if not fired & _PERSONAL_BITS:
        return []
    out: list[Span] = []
    if fired & triggers.HOMES:
        for literal, pattern in zip(_HOME_LITERALS, _HOMES, strict=True):
            if literal not in text:
                continue  # what every match starts with (a substring check is the cheaper)
            for m in pattern.finditer(text):
                start = m.start()
                if pattern is _HOMES[2] or text[start - 1 : start] == ":":
                    drive = _DRIVE.search(text, max(0, start - 4), start)
                    if drive is None:
                        continue  # not C:\Users\ (nor C:/Users/)
                    start = drive.start()
                out.append((start, m.end(), "~", "home-directory"))
    if fired & triggers.PROJECT_DIRS:
        for pattern in _PROJECT_DIRS:
            out += [(m.start(), m.end(), "~", "home-directory") for m in pattern.finditer(text)]
    if fired & triggers.CLAUDE:
        for m in _CLAUDE_PATH.finditer(text):
            home = _CLAUDE_HOME.search(text, max(0, m.start() - 8), m.start())
            before = [s for s in out if s[1] <= m.start() and s[1] >= m.start() - 2]
            if home is not None or before:
                start = home.start() if home is not None else before[-1][0]
                name = f"~/.claude/{m.group('name')}" if m.group("name") else "~/.claude"
                out.append((start, m.end(), name, "claude-path"))
    if fired & triggers.EMAIL:
        for m in _EMAIL.finditer(text):
            local = _LOCAL.search(text, max(0, m.start() - 64), m.start())
            if local and not _allowed(local.group(), m.group("domain"), allow):
                out.append((local.start(), m.end(), EMAIL_MARKER, "email"))
                if text[local.start() - 1 : local.start()] == "<":
                    person = _NAME_BEFORE.search(text, max(0, local.start() - 81), local.start())
                    if person is not None:
                        out.append((person.start(), person.end("name"), NAME_MARKER, "name"))
    return _merge(out)


def _merge(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans; of overlapping ones the wider (an enclosing path) wins."""
    spans.sort(key=lambda s: (s[0], -s[1]))
    merged: list[Span] = []
    for span in spans:
        if merged and span[0] < merged[-1][1]:
            if span[1] > merged[-1][1]:
                merged[-1] = (merged[-1][0], span[1], span[2], span[3])
            continue
        merged.append(span)
    return merged


def mask(text: str, allow: tuple[str, ...] = (), fired: int | None = None) -> str:
    """``text`` with home directories as ``~``, ``~/.claude/…`` paths as their file name and
    e-mail addresses (outside ``allow``) masked. ``fired``: the triggers of ``text``
    (:func:`learn.privacy.triggers.fired`), when the caller already has them."""
    spans = _spans(text, allow, fired)
    if not spans:
        return text
    out, pos = [], 0
    for start, end, replacement, _ in spans:
        out += [text[pos:start], replacement]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def findings(text: str, allow: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    """(offset, kind) of every piece of personal data :func:`mask` would change."""
    return [(start, kind) for start, _, _, kind in _spans(text, allow)]
