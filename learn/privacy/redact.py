"""Find and redact credentials in transcript text.

Session transcripts routinely contain secrets: the output of ``env``, ``.env`` files, config
reads, connection strings, ``curl -H "Authorization: ..."``. Every string is passed through
:func:`redact` before it reaches the learn model or a commit, and learned docs are scanned with
:func:`contains_secret` before they are committed.

What is found (the ``kind`` in ``[REDACTED:<kind>]``, all listed in :data:`KINDS`):

* known token formats, redacted wherever they appear (a public demo key looks exactly like a
  real one, and that is accepted): ``github-token``, ``aws-access-key``, ``anthropic-key``,
  ``openai-key``, ``slack-token``, ``slack-webhook``, ``stripe-key``, ``google-api-key``,
  ``google-oauth-secret``, ``gitlab-token``, ``npm-token``, ``pypi-token``,
  ``huggingface-token``, ``jwt``;
* ``private-key``: a whole ``-----BEGIN ... PRIVATE KEY-----`` block (a truncated block without
  its END line is redacted as far as its key material goes);
* ``url-password``: the password of ``scheme://user:password@host`` (scheme, user and host stay);
* ``secret-assignment`` (``aws-secret`` for an AWS secret key, or the token's own kind when the
  value is a known token): the value of ``NAME=value``, ``NAME: value``, ``"name": "value"``,
  ``export NAME=value``, ``--name=value`` and ``--name value`` when NAME looks secret
  (``GITHUB_TOKEN``, ``db_password``, ``apiKey``, ``Authorization``, ...). The name stays.
  Values that are obviously not secrets are left alone: empty or shorter than 4 characters,
  ``$VAR``/``${VAR}``/``<placeholder>``/``***``/``xxx``, ``None``/``null``/``true``/``false``,
  an earlier ``[REDACTED:...]``, and code (``get_token()``, ``os.environ["PW"]``, ``args.token``).

There is deliberately no generic "high entropy string" rule: git SHAs, UUIDs and base64 data
are everywhere in transcripts and are not secrets.

How it is fast (it runs over every string of multi-GB transcripts):

1. Strings shorter than 8 characters cannot hold a finding and are returned at once.
2. The text is encoded to UTF-8 and lower-cased as bytes (C loops; ASCII-only lower-casing keeps
   every offset, and turns the case-insensitive keywords into plain literals).
3. A few precompiled scans (``_SCANS``) run over those bytes. Each starts with a literal that is
   rare in ordinary text (``_ - k cre pass pwd auth @ eyj asi aiz``), so ``re`` jumps between
   candidates with its fast literal-prefix search (about 1-2 GB/s per scan; a single pattern
   with many alternatives would try them all at every position and run 10-20 times slower), and
   checks the rest with lookarounds. Each scan is a ``search`` first: on text without a trigger
   no match object is ever built, and :func:`redact` returns the very same string. Short texts
   are first checked with one combined pattern (``_ANY_SCAN``), cheaper than 11 calls.
4. Only the hits are verified in Python, on the original ``str``, with the exact
   case-sensitive patterns and the name/value rules. Overlapping findings are merged, and the
   marker names the most specific: a private key block, then a token format, then a URL
   password, then an assignment (``GITHUB_TOKEN=ghp_...`` becomes
   ``GITHUB_TOKEN=[REDACTED:github-token]``). Every pattern is bounded, so the work per hit is
   bounded too, whatever the input.

Existing ``[REDACTED:...]`` markers are never touched, and :func:`redact` repeats until nothing
is found, so ``redact(redact(x)) == redact(x)`` and ``contains_secret(redact(x))`` is false.
Redaction works on decoded strings and keeps their structure: a secret inside a string value of a
JSON document embedded in the text becomes a marker without quotes or backslashes, so the
document still parses; literal ``\\n``/``\\t`` escape sequences count as separators.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

__all__ = ["KINDS", "Finding", "contains_secret", "find_secrets", "redact"]


@dataclass(frozen=True, slots=True)
class Finding:
    """A secret at ``text[start:end]``; ``kind`` names what it looks like."""

    kind: str
    start: int
    end: int


# --- token formats (exact, case-sensitive, matched on the str) ------------------------------

# (kind, pattern, the character classes the body must mix: "" or "Aa" (upper and lower case) or
# "Aa0" (and digits), for prefixes that also start ordinary words and identifiers)
_TOKENS: dict[str, tuple[str, str, str]] = {
    "ghp": ("github-token", r"gh[pousr]_[A-Za-z0-9]{30,255}", ""),
    "ghpat": ("github-token", r"github_pat_[A-Za-z0-9_]{30,255}(?![A-Za-z0-9_])", ""),
    "aws": ("aws-access-key", r"A(?:KIA|SIA)[A-Z0-9]{16}(?![A-Za-z0-9_])", ""),
    "ant": ("anthropic-key", r"sk-ant-[A-Za-z0-9_-]{20,512}", ""),
    "oaiproj": ("openai-key", r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,512}", ""),
    "oai": ("openai-key", r"sk-[A-Za-z0-9_-]{20,512}", "Aa0"),
    "slack": ("slack-token", r"xox[abposre]-[A-Za-z0-9-]{10,256}", ""),
    "slackapp": ("slack-token", r"xapp-[0-9]-[A-Za-z0-9-]{10,256}", ""),
    "stripe": ("stripe-key", r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,256}(?![A-Za-z0-9_])", "Aa0"),
    "whsec": ("stripe-key", r"whsec_[A-Za-z0-9+/=]{20,256}", ""),
    "gapi": ("google-api-key", r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", ""),
    "gsecret": ("google-oauth-secret", r"GOCSPX-[0-9A-Za-z_-]{20,128}", ""),
    "gitlab": ("gitlab-token", r"glpat-[0-9A-Za-z_-]{20,128}", ""),
    "npm": ("npm-token", r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])", ""),
    "pypi": ("pypi-token", r"pypi-AgE[A-Za-z0-9_-]{50,1024}", ""),
    "hf": ("huggingface-token", r"hf_[A-Za-z]{34}(?![A-Za-z0-9_])", "Aa"),
    "jwt": (
        "jwt",
        r"eyJ[A-Za-z0-9_-]{8,1024}\.eyJ[A-Za-z0-9_-]{8,16384}\.[A-Za-z0-9_-]{0,1024}",
        "",
    ),
}
_TOKEN_RE = {name: re.compile(pattern) for name, (_, pattern, _) in _TOKENS.items()}
# A value that is itself a known token (an assignment value, a URL password).
_TOKEN_FULL = re.compile("|".join(f"(?P<{name}>{p})" for name, (_, p, _) in _TOKENS.items()))

_PKEY_HEADER = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# Key material of a truncated block: base64, whitespace, literal \n escapes, PEM header lines.
_PKEY_BODY = re.compile(r"(?:[A-Za-z0-9+/=\s]|\\[nrt]|[A-Za-z-]{1,40}: [^\n\\]{0,200}){0,65536}")
_PKEY_END = re.compile(r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/]{32}")
# A Slack webhook from the "k" of "slack": the path after services/ is the secret.
_SLACK_HOOK = re.compile(r"k\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{8,256}", re.I)
# The password of scheme://user:password@host, matched from the "//" before an "@".
_URL = re.compile(
    r"//[^\s:/?#@\"'<>\[\]\\]{0,128}:(?P<pw>[^\s/?#\"'<>\\]{1,256})@(?=[A-Za-z0-9\[])"
)
_URL_WINDOW = 512

_MARKER = re.compile(r"\[REDACTED:[a-z0-9-]{1,40}\]")
_MARKER_START = "[REDACTED:"

# --- the scans (lower-cased UTF-8 bytes) ------------------------------------------------------
# Each scan: a literal prefix, rare in ordinary text (``re`` skips to it at C speed, far faster
# than to any of a set of first characters), then lookarounds. Each alternative is a group
# labelled after what it found: ``t_<names>_<n>``: the token formats to try (separated by "_"),
# starting n characters before the hit; ``kw``: a secret-looking keyword followed by a
# separator; ``at``: an "@" that may end a URL's user:password; ``pkey``; ``hook``. The scans
# only preselect: they may let through what Python then rejects, never the other way round.

_NAME_B = rb"[a-z0-9_.-]{0,100}"
# "NAME = value" / "NAME: value", not "==", "::", a call, None/null/true/false, $VAR, os.environ.
_SEP_B = (
    rb"(?:\\?[\"'])?[ \t]*(?::=|=>|=(?![=~])|:(?!:))"
    rb"(?![ \t]*(?:[a-z_][a-z0-9_.]{0,18}[(\[]|\$|os\.|process\.env"
    rb"|(?:none|null|nil|true|false|str|int|bytes|bool|float|dict|list|any|optional)"
    rb"(?![^\s,;)\]}'\"])))"
)
_FLAG_B = rb"[ \t]+(?=[^\s-])"  # "--token value"


def _kw(behind: bytes, after: bytes, flag_behind: bytes) -> bytes:
    """A keyword: ``behind`` ends where the scan's prefix ends, ``after`` follows it."""
    assign = b"(?<=%s)(?=%s%s%s)" % (behind, after, _NAME_B, _SEP_B)
    flag = b"(?<=%s)(?=%s%s%s)" % (flag_behind, after, _NAME_B, _FLAG_B)
    return assign + b"|" + flag


# {literal prefix: (quick check right after it, [(label, lookaround)])}. No prefix may overlap
# itself ("asi", not "asia"), so that no occurrence hides another.
_SCAN_ALTS: dict[bytes, tuple[bytes, list[tuple[str, bytes]]]] = {
    b"_": (
        rb"(?<=[pousrbcmfk]_)",
        [
            ("t_ghp_3", rb"(?<=gh[pousr]_)"),
            ("t_ghpat_6", rb"(?<=github_)(?=pat_)"),
            ("t_whsec_5", rb"(?<=whsec_)"),
            ("t_npm_3", rb"(?<=npm_)"),
            ("t_hf_2", rb"(?<=hf_)"),
            ("t_stripe_2", rb"(?<=[sr]k_)(?=(?:live|test)_)"),
        ],
    ),
    b"-": (
        rb"(?<=[kabposrexti]-)",
        [
            ("t_ant_oaiproj_oai_2", rb"(?<=sk-)"),
            ("t_slack_4", rb"(?<=xox[abposre]-)"),
            ("t_slackapp_4", rb"(?<=xapp-)"),
            ("t_gsecret_6", rb"(?<=gocspx-)"),
            ("t_gitlab_5", rb"(?<=glpat-)"),
            ("t_pypi_4", rb"(?<=pypi-)(?=age)"),
        ],
    ),
    b"k": (
        rb"(?=[.ei])",
        [
            ("kw", _kw(rb"tok", rb"en(?!s(?![a-z])|iz)", rb"-tok")),  # not tokens, tokenizer
            ("kw", _kw(rb"[a-z]k", rb"ey", rb"-k")),  # apiKey, AccountKey (not a bare "key")
            ("kw", _kw(rb"[a-z][_-]k", rb"ey", rb"-k")),  # api_key, x-api-key
            ("t_aws_1", rb"(?<=ak)(?=ia)"),
            ("hook", rb"(?<=hooks\.slack)(?=\.com/)"),
            ("pkey", rb"(?<=private k)(?=ey(?: block)?-----)"),
        ],
    ),
    b"cre": (
        b"",
        [
            ("kw", _kw(rb"secre", rb"t", rb"-secre")),  # secret
            ("kw", _kw(rb"cre", rb"d", rb"-cre")),  # cred, creds, credentials
        ],
    ),
    b"pass": (b"", [("kw", _kw(rb"pass", b"", rb"-pass"))]),  # pass, password, passwd...
    b"pwd": (b"", [("kw", _kw(rb"pwd", b"", rb"-pwd"))]),
    b"auth": (b"", [("kw", _kw(rb"auth", rb"(?!or(?![a-z]))", rb"-auth"))]),  # not "author"
    b"@": (b"", [("at", rb"(?<=\S@)(?=[a-z0-9\[])")]),
    b"eyj": (b"", [("t_jwt_0", rb"(?=[a-z0-9_-]{8,1024}\.eyj)")]),
    b"asi": (b"", [("t_aws_0", rb"(?=a)")]),
    b"aiz": (b"", [("t_gapi_0", rb"(?=a)")]),
}


def _build_scans() -> tuple[list[re.Pattern[bytes]], re.Pattern[bytes], dict[str, str]]:
    """The scans, and one pattern that matches wherever any scan would (for short texts, where
    the cost per call matters more than the cost per byte)."""
    labels: dict[str, str] = {}
    scans, anywhere = [], []
    for prefix, (quick, alts) in _SCAN_ALTS.items():
        groups = []
        for label, look in alts:
            group = f"g{len(labels)}"
            labels[group] = label
            groups.append(b"(?P<" + group.encode() + b">" + look + b")")
        scans.append(re.compile(re.escape(prefix) + quick + b"(?:" + b"|".join(groups) + b")"))
        any_alt = b"|".join(b"(?:" + look + b")" for _, look in alts)
        first, rest = re.escape(prefix[:1]), re.escape(prefix[1:])
        anywhere.append(first + b"(?=" + rest + quick + b"(?:" + any_alt + b"))")
    return scans, re.compile(b"|".join(anywhere)), labels


_SCANS, _ANY_SCAN, _GROUP_LABELS = _build_scans()
_SHORT = 96  # bytes: below this, one _ANY_SCAN search decides whether to run the scans
_MIN_LEN = 8  # nothing shorter can hold a finding ("pwd=abcd")

#: Every kind :func:`find_secrets` can report.
KINDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [kind for kind, _, _ in _TOKENS.values()]
        + ["slack-webhook", "private-key", "url-password", "aws-secret", "secret-assignment"]
    )
)

# When candidates overlap, the marker names the first of these.
_PRIORITY = ("private-key", "token", "url-password", "assignment")
_PRIO_PKEY, _PRIO_TOKEN, _PRIO_URL, _PRIO_ASSIGN = range(len(_PRIORITY))
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_NAMECHARS = _WORD | {".", "-"}


def _left_ok(text: str, start: int) -> bool:
    """A token starts at a word boundary (a literal ``\\n``/``\\t`` escape counts as one)."""
    if start == 0 or text[start - 1] not in _WORD:
        return True
    return start >= 2 and text[start - 2] == "\\" and text[start - 1] in "nrt"


_UPPER, _LOWER, _DIGIT = re.compile("[A-Z]"), re.compile("[a-z]"), re.compile("[0-9]")


def _mixes(token: str, classes: str) -> bool:
    """Real keys mix upper case, lower case (and digits); words and identifiers rarely do. The
    first 3 characters (the prefix) do not count."""
    return all(
        pattern.search(token, 3) is not None
        for cls, pattern in (("A", _UPPER), ("a", _LOWER), ("0", _DIGIT))
        if cls in classes
    )


def _token_kind(value: str) -> str | None:
    m = _TOKEN_FULL.fullmatch(value)
    if m is None or m.lastgroup is None:
        return None
    kind, _, classes = _TOKENS[m.lastgroup]
    return kind if _mixes(value, classes) else None


# Prefixes distinctive enough to be found even glued to a preceding word ("Bearerghp_...").
_NO_LEFT_BOUNDARY = frozenset({"ghp", "ghpat", "ant", "slack", "slackapp", "whsec", "gapi"})
_NO_LEFT_BOUNDARY |= {"gsecret", "gitlab", "pypi"}


def _token_at(text: str, start: int, names: list[str]) -> tuple[int, int, str] | None:
    if start < 0 or (names[0] not in _NO_LEFT_BOUNDARY and not _left_ok(text, start)):
        return None
    for name in names:
        m = _TOKEN_RE[name].match(text, start)
        if m:
            kind, _, classes = _TOKENS[name]
            if not _mixes(m.group(), classes):
                return None
            return start, m.end(), kind
    return None


# --- assignments ----------------------------------------------------------------------------

_NAME_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_KEY_WORDS = frozenset(
    [
        *("token", "secret", "password", "passwd", "passphrase", "pwd", "pass", "auth"),
        *("credential", "credentials", "creds", "authorization", "apikey", "accesskey"),
        *("privatekey", "secretkey", "authtoken", "accesstoken", "refreshtoken", "idtoken"),
        *("sessiontoken", "clientsecret"),
    ]
)
_KEY_SUFFIXES = ("token", "secret", "password", "passwd", "apikey")
_KEY_PAIRS = frozenset(
    (first, "key")
    for first in ("api", "access", "private", "secret", "signing", "encryption", "master")
) | {("account", "key")}
# Words that may follow the keyword and still name the secret itself (SECRET_KEY_BASE,
# PASSWORD_HASH, API_KEY_PROD); anything else (TOKEN_URL, token_type, password_file) does not.
_TRAILING_OK = frozenset(
    [
        *("key", "keys", "base", "value", "val", "str", "string", "hash", "b64", "base64"),
        *("raw", "enc", "encrypted", "plain", "plaintext", "data", "header", "confirm"),
        *("confirmation", "new", "old", "current", "prod", "production", "dev"),
        *("development", "test", "staging", "live", "local", "default"),
    ]
)
_NOT_SECRET_NAMES = frozenset({"pwd", "oldpwd"})  # the shell's working directory


def _secret_name(name: str) -> bool:
    """Whether an assignment's name (``GITHUB_TOKEN``, ``apiKey``, ``--password``) looks secret:
    a secret word, last or followed only by words like KEY, BASE, HASH, PROD."""
    name = name.lstrip("-.")
    if not name or name.lower() in _NOT_SECRET_NAMES:
        return False
    parts = [p.lower() for p in _NAME_PARTS.findall(name)]
    last = -1
    for i, part in enumerate(parts):
        if (
            part in _KEY_WORDS
            or (i and (parts[i - 1], part) in _KEY_PAIRS)
            or (len(part) > 6 and part.endswith(_KEY_SUFFIXES))
        ):
            last = i
    return last >= 0 and all(p in _TRAILING_OK or p.isdigit() for p in parts[last + 1 :])


_ASSIGN_TAIL = re.compile(
    r"[A-Za-z0-9_.-]{0,100}(?P<q>\\?[\"'])?[ \t]*(?:(?P<sep>:=|=>|[=:])|(?<=[ \t])(?=[^\s-]))"
)
_VALUE = re.compile(
    r"""[ \t]*(?:
        \\"(?P<e>[^"\n]{0,4096}?)\\"
      | "(?P<d>(?:[^"\\\n]|\\.){0,4096})"
      | '(?P<s>[^'\n]{0,4096})'
      | (?:(?i:bearer|basic|token|bot|digest)[ \t]+)?+  # an auth scheme stays
        (?P<u>[^\s"'`\\,;&(){}\[\]<>|]{1,4096})
    )""",
    re.X,
)
_SCHEME = re.compile(r"(?i:bearer|basic|token|bot|digest)[ \t]+")
_NOT_SECRET_VALUES = frozenset(
    [
        *("none", "null", "nil", "undefined", "true", "false", "yes", "no", "on", "off"),
        *("empty", "required", "optional", "string", "str", "bytes", "int", "secretstr"),
        *("n/a", "unset", "hidden", "masked", "bool", "float", "dict", "list", "any"),
        *("pass", "password", "passwd", "secret", "token", "redacted", "value", "example"),
        *("placeholder", "dummy", "changeme", "foobar"),  # example values
    ]
)
_ENV_READ = re.compile(r"(?i)(?:os\.environ|os\.getenv|getenv|process\.env|env\b|ENV\[)")
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_CODE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_CODE_ROOTS = frozenset(
    [
        *("self", "cls", "this", "os", "sys", "process", "env", "config", "settings"),
        *("conf", "cfg", "args", "opts", "options", "ctx", "context", "request", "req"),
        *("params", "secrets", "vars", "credentials", "creds", "app", "window"),
    ]
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COLOR = re.compile(r"#[0-9A-Fa-f]{3,8}")
_FILLER = re.compile(r"[*xX.•_ -]+")  # ***, xxxx, ..., •••
_ELIDED = re.compile(r"[A-Za-z0-9_-]{0,8}(?:\.\.\.|…)")  # ghp_..., sk-…
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z_]*")
_SNAKE_KEBAB = re.compile(r"[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+")
_HEADER_NAMES = frozenset(["authorization", "proxy-authorization", "x-api-key", "x-auth-token"])
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")


def _placeholder(value: str) -> bool:
    """Values that are obviously not a secret (for assignments and URL passwords)."""
    v = value.strip()
    if len(v) < 4 or v.startswith(("$", "<", "{", "%", _MARKER_START)):
        return True
    low = v.lower()
    return (
        low in _NOT_SECRET_VALUES
        or "redacted" in low
        or _FILLER.fullmatch(v) is not None
        or _ELIDED.fullmatch(v) is not None
        or _ENV_READ.match(v) is not None
        or _COLOR.fullmatch(v) is not None
    )


def _code_value(value: str, name: str, sep: str | None, quoted_name: bool, after: str) -> bool:
    """An unquoted value that is an expression, not a literal: a call or subscript
    (``get_token()``, ``os.environ["PW"]``), an attribute (``args.token``), a variable
    (``token = token``, ``{"NextToken": next_token}``) or a type (``token: Token,``)."""
    if len(value) >= 20 and _mixes("..." + value, "Aa0"):  # (the "..." is the skipped prefix)
        return False  # a long random-looking value is a literal, whatever follows it
    nxt = after.lstrip(" \t")[:1]
    if after[:1] in ("(", "[") or value.lower() == name.rsplit(".", 1)[-1].lower():
        return True
    if _CODE_PATH.fullmatch(value):
        parts = value.split(".")
        if parts[0] in _CODE_ROOTS or not any(c.isdigit() for c in value):
            return True
    if quoted_name and _IDENT.fullmatch(value):
        return True  # {"name": variable} is code; JSON would quote a string
    if sep == ":" and _TYPE_NAME.fullmatch(value) and nxt in ("=", ",", ")", "]", "|"):
        return True  # an annotation: def f(token: Token, ...) / token: Token = ...
    # snake_case / CONST_CASE names on the right of "=" are variables (not in YAML "key: value")
    return sep != ":" and _SNAKE.fullmatch(value) is not None


def _names_a_secret(value: str) -> bool:
    """A quoted value that is itself the name of a secret (``"next_token"``, ``'Authorization'``)
    rather than one: a snake/kebab-case identifier with a secret word, or a header name."""
    if value.lower() in _HEADER_NAMES:
        return True
    return bool(_SNAKE_KEBAB.fullmatch(value)) and _secret_name(value)


def _assignment(text: str, anchor: int) -> tuple[int, int, str] | None:
    """The (start, end, kind) of the value of a secret-looking assignment whose name contains
    the keyword anchored at ``anchor``."""
    start = anchor
    while start > 0 and start > anchor - 100 and text[start - 1] in _NAMECHARS:
        start -= 1
    if start >= 1 and text[start - 1] == "\\" and text[start] in "nrt":
        start += 1  # the "n" of a literal \n escape is not part of the name
    if text[max(0, start - 2) : start] == "::":
        return None  # a qualified type name (AWS::IAM::AccessKey, Foo::token), not a variable
    m = _ASSIGN_TAIL.match(text, anchor + 1)
    if m is None:
        return None
    sep = m.group("sep")
    name_end = m.start("q") if m.group("q") else m.start("sep") if sep else m.end()
    name = text[start:name_end].rstrip(" \t")
    after = text[m.end() : m.end() + 1]
    if sep is None:
        if not name.startswith("-"):
            return None  # "--token value" only; "the token is" is prose
    elif sep == ":":
        # YAML/JSON style needs a quoted name or a blank after the colon (not "a::b", "x:y").
        if after == ":" or not (m.group("q") or after in (" ", "\t", '"', "'")):
            return None
    elif sep == "=" and after in ("=", "~"):
        return None  # a comparison
    if not _secret_name(name):
        return None
    v = _VALUE.match(text, m.end())
    if v is None:
        return None
    group = v.lastgroup or "u"
    vstart, vend = v.span(group)
    value = text[vstart:vend]
    if group != "u":
        s = _SCHEME.match(value)
        if s:
            vstart += s.end()
            value = text[vstart:vend]
    token = _token_kind(value)
    if token:
        return vstart, vend, token
    if _placeholder(value):
        return None
    low = name.lower()
    if "secret" in low and ("aws" in low or "access" in low) and _AWS_SECRET.fullmatch(value):
        return vstart, vend, "aws-secret"
    if group != "u" and _names_a_secret(value):
        return None
    after_value = text[vend : vend + 8]
    if group == "u" and (
        (sep is None and value.startswith("-"))
        or _code_value(value, name, sep, bool(m.group("q")), after_value)
    ):
        return None
    return vstart, vend, "secret-assignment"


def _url_password(text: str, at: int) -> tuple[int, int, str] | None:
    """The password of ``scheme://user:password@host`` whose "@" is at ``at``."""
    scheme = text.rfind("://", max(0, at - _URL_WINDOW), at)
    if scheme < 0:
        return None
    m = _URL.match(text, scheme + 1)
    if m is None or m.end() - 1 != at:
        return None
    start, end = m.span("pw")
    pw = text[start:end]
    kind = _token_kind(pw)
    if kind is None and _placeholder(pw):
        return None
    return start, end, kind or "url-password"


def _private_key(text: str, p: int) -> tuple[int, int, str] | None:
    """The key block whose header's "KEY" starts at ``p``."""
    begin = text.rfind("-----BEGIN", max(0, p - 60), p)
    if begin < 0:
        return None
    header = _PKEY_HEADER.match(text, begin)
    if header is None or header.end() <= p:
        return None
    end = header.end()
    body_end = _PKEY_BODY.match(text, end).end()  # type: ignore[union-attr]
    e = _PKEY_END.match(text, body_end)
    if not _KEY_MATERIAL.search(text, end, body_end):
        return None  # a header mentioned in code or prose, without a key
    # The whole block; or, truncated (no END right after the key material), as far as it goes.
    return begin, e.end() if e else body_end, "private-key"


# --- finding ------------------------------------------------------------------------------

_Candidate = tuple[int, int, int, str]  # (priority, start, end, kind)


def _anchors(text: str) -> list[tuple[int, str]]:
    """(position in ``text``, label) of every scan hit, sorted."""
    if len(text) < _MIN_LEN:
        return []
    data = text.encode("utf-8", "surrogatepass")
    low = data.lower()
    if len(low) < _SHORT and _ANY_SCAN.search(low) is None:
        return []
    hits = []
    for scan in _SCANS:
        first = scan.search(low)  # cheaper than finditer when, as usual, nothing is found
        if first is not None:
            hits.append((first.start(), _GROUP_LABELS[first.lastgroup or ""]))
            for m in scan.finditer(low, first.end()):
                hits.append((m.start(), _GROUP_LABELS[m.lastgroup or ""]))
    if not hits:
        return hits
    hits.sort()
    if text.isascii():
        return hits
    # Map byte offsets to str offsets (anchors are ASCII, so always on a character boundary).
    out = []
    prev_byte = prev_char = 0
    for pos, label in hits:
        prev_char += len(data[prev_byte:pos].decode("utf-8", "surrogatepass"))
        prev_byte = pos
        out.append((prev_char, label))
    return out


def _candidates(text: str, hits: list[tuple[int, str]]) -> list[_Candidate]:
    out: list[_Candidate] = []
    key_block_end = value_end = -1  # see below
    for pos, label in hits:
        found: tuple[int, int, str] | None
        if label.startswith("t_"):
            *names, before = label[2:].split("_")
            found = _token_at(text, pos - int(before), names)
            prio = _PRIO_TOKEN
        elif label == "kw":
            # A keyword inside the previous unquoted value ("password=password=...") would
            # only find a part of that value again.
            found = _assignment(text, pos) if pos >= value_end else None
            if found and text[found[1] : found[1] + 1] not in ('"', "'", "\\"):
                value_end = found[1]
            prio = _PRIO_ASSIGN
        elif label == "at":
            found, prio = _url_password(text, pos), _PRIO_URL
        elif label == "pkey":
            # A header inside the previous key block adds nothing (and costs).
            found = _private_key(text, pos) if pos >= key_block_end else None
            key_block_end = found[1] if found else key_block_end
            prio = _PRIO_PKEY
        else:  # hook
            m = _SLACK_HOOK.match(text, pos)
            found = None
            if m:
                path = text.index("/", pos + 6) + 1  # after "slack.com/services/"
                found = (path, m.end(), "slack-webhook")
            prio = _PRIO_TOKEN
        if found:
            out.append((prio, *found))
    return out


def _resolve(text: str, cands: list[_Candidate]) -> list[Finding]:
    """Merge overlapping candidates into findings (nothing of an overlapping secret is left
    over); the marker names the most specific kind. An existing ``[REDACTED:...]`` marker is
    never cut: a candidate inside one is dropped, one across one takes it in whole."""
    markers: list[tuple[int, int]] = []
    if _MARKER_START in text:
        markers = [m.span() for m in _MARKER.finditer(text)]
    marker_starts = [start for start, _ in markers]
    spans: list[tuple[int, int, int, str | None]] = []
    for prio, start, end, kind in cands:
        i = bisect_right(marker_starts, start) - 1
        if end <= start or (i >= 0 and end <= markers[i][1]):
            continue  # empty, or inside a marker
        spans.append((start, end, prio, kind))
    if not spans:
        return []
    spans += [(start, end, len(_PRIORITY), None) for start, end in markers]
    spans.sort()
    findings: list[Finding] = []
    cur_start, cur_end, best = -1, -1, (len(_PRIORITY), "")
    for start, end, prio, label in spans:
        if start >= cur_end:
            if best[1]:
                findings.append(Finding(best[1], cur_start, cur_end))
            cur_start, cur_end, best = start, end, (len(_PRIORITY), "")
        cur_end = max(cur_end, end)
        if label is not None and prio < best[0]:
            best = (prio, label)
    if best[1]:
        findings.append(Finding(best[1], cur_start, cur_end))
    return findings


def find_secrets(text: str) -> list[Finding]:
    """Every secret in ``text``, sorted by position, non-overlapping."""
    hits = _anchors(text)
    if not hits:
        return []
    cands = _candidates(text, hits)
    return _resolve(text, cands) if cands else []


def contains_secret(text: str) -> bool:
    """Whether ``text`` contains anything :func:`redact` would redact."""
    return bool(find_secrets(text))


def _apply(text: str, findings: list[Finding]) -> str:
    out: list[str] = []
    pos = 0
    for f in findings:
        out.append(text[pos : f.start])
        out.append(f"[REDACTED:{f.kind}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def redact(text: str) -> str:
    """``text`` with every secret replaced by ``[REDACTED:<kind>]``.

    Text without any candidate is returned as is (the same object). Redaction repeats until
    nothing more is found (each round only shrinks the unredacted text), so the result is a
    fixed point: ``redact(redact(x)) == redact(x)``.
    """
    findings = find_secrets(text)
    while findings:
        text = _apply(text, findings)
        findings = find_secrets(text)
    return text
