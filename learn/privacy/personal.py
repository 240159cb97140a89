"""Personal data in transcript text: home directories, Claude Code's own files, e-mail addresses.

* A home directory becomes ``~`` in all three forms an OS writes it: ``/home/<user>/…``,
  ``/Users/<user>/…`` and ``C:\\Users\\<user>\\…`` (also ``C:/Users/<user>/…``), so the user
  name is gone and the path after it stays readable.
* A path under ``~/.claude/`` (sessions, settings, plans, todos) is reduced to its file name: what
  a project keeps there says nothing the docs need, and its folder names encode local paths.
* An e-mail address becomes ``[REDACTED:email]``, except addresses at a domain on the allow-list
  (the team's own domain, from the ``email-allow`` setting) or at a domain reserved for examples
  (``example.com``, ``*.example``, ``*.invalid``, ``*.test``, ``localhost``), and the ``git@``
  of an SSH remote.

:func:`mask` returns the very same string when the text holds none of these (a few substring
checks at C speed decide that), so it costs next to nothing on most text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["EMAIL_MARKER", "allowed_domains", "findings", "mask"]

EMAIL_MARKER = "[REDACTED:email]"

_HOME = re.compile(
    r"(?:(?<![\w./-])/home|(?<![\w./-])/Users|(?<![A-Za-z])[A-Za-z]:[\\/]+Users)[\\/]+(?!Shared\b|Public\b)"
    r"(?P<user>[^\\/\s'\"`<>|:*?]{1,64})(?=[\\/]|$|[\s'\"`<>|:,;)\]}])"
)
# Claude Code names a project's folder after its path: -home-alice-src-app, -Users-bob-dev-x.
_PROJECT_DIR = re.compile(r"(?<![\w-])-(?:home|Users|C--Users)-[A-Za-z0-9._]{1,64}(?=-)")
_CLAUDE_PATH = re.compile(
    r"""(?:~|\$HOME|/root)[\\/]+\.claude[\\/]+(?:[^\s'"`<>|,;()\[\]{}]*[\\/])?"""
    r"""(?P<name>[^\s'"`<>|,;()\[\]{}\\/]*)"""
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])(?<!//)(?P<local>[A-Za-z0-9][A-Za-z0-9._%+-]{0,63})"
    r"@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24})(?![A-Za-z0-9-])"
)
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net", "localhost")
_EXAMPLE_TLDS = (".example", ".invalid", ".test", ".localhost")
_NOT_PERSONAL_LOCAL = frozenset(["git"])  # git@github.com:org/repo.git
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


def mask(text: str, allow: tuple[str, ...] = ()) -> str:
    """``text`` with home directories as ``~``, ``~/.claude/…`` paths as their file name and
    e-mail addresses (outside ``allow``) masked."""
    if "Users" in text or "/home/" in text:
        text = _HOME.sub(lambda m: "~", text)
    if "-home-" in text or "Users-" in text:
        text = _PROJECT_DIR.sub("~", text)
    if ".claude" in text:
        text = _CLAUDE_PATH.sub(lambda m: m.group("name") or "~/.claude", text)
    if "@" in text:
        text = _EMAIL.sub(
            lambda m: (
                m.group(0) if _allowed(m.group("local"), m.group("domain"), allow) else EMAIL_MARKER
            ),
            text,
        )
    return text


def findings(text: str, allow: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    """(offset, kind) of every piece of personal data :func:`mask` would change."""
    out = [(m.start(), "home-directory") for m in _HOME.finditer(text)]
    out += [(m.start(), "home-directory") for m in _PROJECT_DIR.finditer(text)]
    out += [(m.start(), "claude-path") for m in _CLAUDE_PATH.finditer(text)]
    out += [
        (m.start(), "email")
        for m in _EMAIL.finditer(text)
        if not _allowed(m.group("local"), m.group("domain"), allow)
    ]
    return sorted(out)
