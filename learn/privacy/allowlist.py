"""What is never redacted: documented examples and placeholders that look like secrets.

This list is explicit on purpose (and every entry is tested): a value is let through when it
contains one of :data:`PLACEHOLDER_WORDS` (``xoxb-your-bot-token-here``, ``sk_test_XXXX...``,
``<your-api-key>``) or, in lower case, of :data:`LOWER_CASE_WORDS`, or when, past its prefix, it is made of at most
:data:`MAX_DISTINCT` different characters (``ghp_xxxx...``, ``0000...``). To let another
placeholder through, add its word here (lower case) and a case to the tests. AWS's documented
example keys (``AKIA...EXAMPLE``) are redacted: they look exactly like real ones, and a value
assigned to ``AWS_SECRET_ACCESS_KEY`` in ``env`` output is treated as the secret it would be.
"""

from __future__ import annotations

import re

__all__ = [
    "LOWER_CASE_WORDS",
    "MAX_DISTINCT",
    "PLACEHOLDER_WORDS",
    "placeholder_token",
    "placeholder_value",
]

#: Words that mark a value as an example, not a credential (in any case, except
#: :data:`LOWER_CASE_WORDS`).
PLACEHOLDER_WORDS: tuple[str, ...] = (
    "your",
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
#: Words that count only in lower case: ``your-example-key`` is a placeholder, but AWS's
#: documented ``AKIA...EXAMPLE`` keys look exactly like real ones and are redacted.
LOWER_CASE_WORDS: tuple[str, ...] = ("example",)
#: A token whose body has at most this many distinct characters is a placeholder.
MAX_DISTINCT = 3

_WORDS = re.compile("|".join(re.escape(w) for w in PLACEHOLDER_WORDS))
_LOWER_WORDS = re.compile("|".join(re.escape(w) for w in LOWER_CASE_WORDS))


def placeholder_token(token: str, prefix: int = 4) -> bool:
    """Whether ``token`` (a known format, or any value) is an example or a placeholder."""
    if _WORDS.search(token.lower()) or _LOWER_WORDS.search(token):
        return True
    body = token[prefix:] if len(token) > prefix + 8 else token
    return len(set(body.replace("-", "").replace("_", ""))) <= MAX_DISTINCT


def placeholder_value(value: str) -> bool:
    """The same check for an assigned value, a password or a flag's argument."""
    return placeholder_token(value, 0)
