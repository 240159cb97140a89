"""What is never redacted: documented examples and placeholders that look like secrets.

This list is explicit on purpose (and every entry is tested): a value is let through when it
contains one of :data:`PLACEHOLDER_WORDS` (``xoxb-your-bot-token-here``, AWS's documented
``...EXAMPLE`` keys, ``sk_test_XXXX...``), or when, past its prefix, it is made of at most
:data:`MAX_DISTINCT` different characters (``ghp_xxxx...``, ``0000...``). To let another
placeholder through, add its word here (lower case) and a case to the tests.
"""

from __future__ import annotations

import re

__all__ = ["MAX_DISTINCT", "PLACEHOLDER_WORDS", "placeholder_token", "placeholder_value"]

#: Lower-case words that mark a value as an example, not a credential.
PLACEHOLDER_WORDS: tuple[str, ...] = (
    "your",
    "example",
    "placeholder",
    "sample",
    "dummy",
    "fake",
    "changeme",
    "change-me",
    "change_me",
    "redacted",
    "here",
    "insert",
    "replace",
    "xxxx",
)
#: A token whose body has at most this many distinct characters is a placeholder.
MAX_DISTINCT = 3

_WORDS = re.compile("|".join(re.escape(w) for w in PLACEHOLDER_WORDS))


def placeholder_token(token: str, prefix: int = 4) -> bool:
    """Whether ``token`` (a known format, or any value) is an example or a placeholder."""
    if _WORDS.search(token.lower()):
        return True
    body = token[prefix:] if len(token) > prefix + 8 else token
    return len(set(body.replace("-", "").replace("_", ""))) <= MAX_DISTINCT


def placeholder_value(value: str) -> bool:
    """The same check for an assigned value, a password or a flag's argument."""
    return placeholder_token(value, 0)
