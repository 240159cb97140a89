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
2. One Hyperscan pass (:mod:`learn.privacy.triggers`) says which of the scans below can match
   at all: each scan has a trigger, the text any of its matches must contain. Most strings fire
   none, and are returned as they are (the very same object) after that one pass.
3. The scans that fired run over the text encoded to UTF-8 and lower-cased as bytes (ASCII-only
   lower-casing keeps every offset, and turns the case-insensitive keywords into plain
   literals). Each scan (``_SCANS``) starts with a literal (``_ - k cre pass pwd auth @ eyj a .
   base64``), so ``re`` jumps between candidates with its literal-prefix search and checks the
   rest with lookarounds.
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

import base64
import re
from bisect import bisect_right
from dataclasses import dataclass

from learn.privacy import allowlist, triggers

__all__ = [
    "KINDS",
    "MIN_LEN",
    "SCAN_BITS",
    "Finding",
    "contains_secret",
    "find_secrets",
    "redact",
    "redact_head",
    "redact_slice",
]


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
    "oai": ("openai-key", r"sk-[A-Za-z0-9]{32,512}(?![A-Za-z0-9_-])", "Aa0"),
    "slack": ("slack-token", r"xox[abposre]-[A-Za-z0-9-]{10,256}", "0"),
    "slackapp": ("slack-token", r"xapp-[0-9]-[A-Za-z0-9-]{10,256}", ""),
    "stripe": ("stripe-key", r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,256}(?![A-Za-z0-9_])", "Aa0"),
    "whsec": ("stripe-key", r"whsec_[A-Za-z0-9+/=]{20,256}", ""),
    "gapi": ("google-api-key", r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", ""),
    "gsecret": ("google-oauth-secret", r"GOCSPX-[0-9A-Za-z_-]{20,128}", ""),
    "ya29": ("google-oauth-token", r"ya29\.[0-9A-Za-z_-]{30,2048}", ""),
    "gitlab": ("gitlab-token", r"glpat-[0-9A-Za-z_-]{20,128}", ""),
    "npm": ("npm-token", r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])", ""),
    "pypi": ("pypi-token", r"pypi-AgE[A-Za-z0-9_-]{50,1024}", ""),
    "hf": ("huggingface-token", r"hf_[A-Za-z]{34}(?![A-Za-z0-9_])", "Aa"),
    "sendgrid": ("sendgrid-key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])", ""),
    "docker": ("docker-token", r"dckr_(?:pat|oat)_[A-Za-z0-9_-]{20,128}", ""),
    "do": ("digitalocean-token", r"do[por]_v1_[a-f0-9]{64}", ""),
    "shopify": ("shopify-token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", ""),
    "linear": ("linear-key", r"lin_(?:api|oauth)_[A-Za-z0-9]{40}", ""),
    "pscale": ("planetscale-token", r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.=-]{32,64}", ""),
    "supabase": ("supabase-token", r"sbp_[a-f0-9]{40}", ""),
    "grafana": ("grafana-token", r"gl(?:c|sa)_[A-Za-z0-9_+/=-]{32,400}", "Aa0"),
    "sentry": ("sentry-token", r"sntry[su]_[A-Za-z0-9_+/=-]{40,400}", ""),
    "rubygems": ("rubygems-key", r"rubygems_[a-f0-9]{48}", ""),
    "fly": ("fly-token", r"fo1_[A-Za-z0-9_-]{40,64}", ""),
    "vault": ("vault-token", r"hv[sbr]\.[A-Za-z0-9_-]{24,256}", "Aa0"),
    "age": ("age-secret-key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", ""),
    "postman": ("postman-key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", ""),
    "newrelic": ("newrelic-key", r"NRAK-[A-Z0-9]{27}", ""),
    "mailgun": ("mailgun-key", r"key-[a-f0-9]{32}(?![A-Za-z0-9_-])", ""),
    "databricks": ("databricks-token", r"dapi[a-f0-9]{32}(?:-[0-9])?(?![A-Za-z0-9_-])", ""),
    "twilio": ("twilio-key", r"SK[a-f0-9]{32}(?![A-Za-z0-9_-])", ""),
    "tfc": ("terraform-token", r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,100}", ""),
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
_URL = re.compile(r"//[^\s:/?#@\"'<>\[\]\\]{0,128}:(?P<pw>[^\s/\"'<>\\]{1,256})@(?=[A-Za-z0-9\[])")
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


def _kw(behind: bytes, after: bytes, flag_behind: bytes, prose: bytes | None = None) -> bytes:
    """A keyword: ``behind`` ends where the scan's prefix ends, ``after`` follows it; ``prose``
    (what completes the word) also finds it in a sentence ("the password is ...")."""
    assign = b"(?<=%s)(?=%s%s%s)" % (behind, after, _NAME_B, _SEP_B)
    flag = b"(?<=%s)(?=%s%s%s)" % (flag_behind, after, _NAME_B, _FLAG_B)
    if prose is None:
        return assign + b"|" + flag
    sentence = rb"(?<=%s)(?=%s[ \t]+(?:(?:is|was|to)[ \t]+|:[ \t]*)?[^\s]*[0-9!#$%%&*+=?@^~])" % (
        behind,
        prose,
    )
    return assign + b"|" + flag + b"|" + sentence


# {literal prefix: (quick check right after it, [(label, lookaround)])}. No prefix may overlap
# itself ("asi", not "asia"), so that no occurrence hides another.
_SCAN_ALTS: dict[bytes, tuple[bytes, list[tuple[str, bytes]]]] = {
    b"_": (
        rb"(?<=[pousrbcmfkean1]_)",
        [
            ("t_ghp_3", rb"(?<=gh[pousr]_)"),
            ("t_ghpat_6", rb"(?<=github_)(?=pat_)"),
            ("t_whsec_5", rb"(?<=whsec_)"),
            ("t_npm_3", rb"(?<=npm_)"),
            ("t_hf_2", rb"(?<=hf_)"),
            ("t_stripe_2", rb"(?<=[sr]k_)(?=(?:live|test)_)"),
            ("t_docker_4", rb"(?<=dckr_)"),
            ("t_do_3", rb"(?<=do[por]_)(?=v1_)"),
            ("t_shopify_5", rb"(?<=shp(?:at|ss|ca|pa)_)"),
            ("t_linear_3", rb"(?<=lin_)(?=api_|oauth_)"),
            ("t_pscale_6", rb"(?<=pscale_)"),
            ("t_supabase_3", rb"(?<=sbp_)"),
            ("t_grafana_3", rb"(?<=glc_)"),
            ("t_grafana_4", rb"(?<=glsa_)"),
            ("t_sentry_6", rb"(?<=sntry[su]_)"),
            ("t_rubygems_8", rb"(?<=rubygems_)"),
            ("t_fly_3", rb"(?<=fo1_)"),
        ],
    ),
    b"-": (
        rb"(?<=[kabposrextiy\s'\"]-)",
        [
            ("t_ant_oaiproj_oai_2", rb"(?<=sk-)"),
            ("t_slack_4", rb"(?<=xox[abposre]-)"),
            ("t_slackapp_4", rb"(?<=xapp-)"),
            ("t_gsecret_6", rb"(?<=gocspx-)"),
            ("t_gitlab_5", rb"(?<=glpat-)"),
            ("t_pypi_4", rb"(?<=pypi-)(?=age)"),
            ("t_age_3", rb"(?<=age-)(?=secret-key-1)"),
            ("t_postman_4", rb"(?<=pmak-)"),
            ("t_newrelic_4", rb"(?<=nrak-)"),
            ("t_mailgun_3", rb"(?<=key-)(?=[0-9a-f]{32})"),
            ("flag", rb"(?<=[\s'\"]-)(?=[pua][^\s=]|[pua][ \t]+[^\s-]|-user[ =])"),
        ],
    ),
    b"k": (
        rb"(?=[.0-9a-fi])",
        [
            (
                "kw",
                _kw(rb"tok", rb"en(?!s(?![a-z])|iz)", rb"-tok", rb"en"),
            ),  # not tokens, tokenizer
            ("kw", _kw(rb"[a-z]k", rb"ey", rb"-k")),  # apiKey, AccountKey (not a bare "key")
            ("kw", _kw(rb"[a-z][_-]k", rb"ey", rb"-k")),  # api_key, x-api-key
            ("prose", rb"(?<=api k)(?=ey[ \t]+(?:is[ \t]+|was[ \t]+)?[^\s])"),
            ("t_aws_1", rb"(?<=ak)(?=ia)"),
            ("t_twilio_1", rb"(?<=sk)(?=[0-9a-f]{32}(?![a-z0-9_-]))"),
            ("hook", rb"(?<=hooks\.slack)(?=\.com/)"),
            ("pkey", rb"(?<=private k)(?=ey(?: block)?-----)"),
        ],
    ),
    b"cre": (
        b"",
        [
            ("kw", _kw(rb"secre", rb"t", rb"-secre", rb"t")),  # secret
            ("kw", _kw(rb"cre", rb"d", rb"-cre")),  # cred, creds, credentials
        ],
    ),
    b"pass": (
        b"",
        [("kw", _kw(rb"pass", b"", rb"-pass", rb"(?:word|wd|phrase)"))],
    ),  # pass, password, passwd...
    b"pwd": (b"", [("kw", _kw(rb"pwd", b"", rb"-pwd", b""))]),
    b"auth": (b"", [("kw", _kw(rb"auth", rb"(?!or(?![a-z]))", rb"-auth"))]),  # not "author"
    b"@": (b"", [("at", rb"(?<=\S@)(?=[a-z0-9\[])")]),
    b"eyj": (b"", [("t_jwt_0", rb"(?=[a-z0-9_-]{8,1024}\.eyj)")]),
    b"a": (
        rb"(?=[siz]|pi)",
        [
            ("t_aws_0", rb"(?=si(?:a))"),
            ("t_gapi_0", rb"(?=iz(?:a))"),
            ("t_databricks_1", rb"(?<=da)(?=pi[0-9a-f]{32})"),
        ],
    ),
    b".": (
        rb"(?<=(?:29|sg|h[vsbr]|v1)\.)",
        [
            ("t_ya29_4", rb"(?<=ya29\.)"),
            ("t_sendgrid_2", rb"(?<=sg\.)(?=[a-z0-9_-]{22}\.)"),
            ("t_vault_3", rb"(?<=hv[sbr]\.)(?=[a-z0-9_-]{24})"),
            ("t_tfc_22", rb"(?<=\.atlasv1\.)"),
        ],
    ),
    b"base64": (b"", [("b64", rb"(?=[ \t]+(?:-d|-D|--decode))")]),
}


def _build_scans() -> tuple[list[tuple[int, re.Pattern[bytes]]], dict[str, str]]:
    """The scans, each with its bit in :func:`learn.privacy.triggers.fired` (its trigger)."""
    labels: dict[str, str] = {}
    scans = []
    for prefix, (quick, alts) in _SCAN_ALTS.items():
        groups = []
        for label, look in alts:
            group = f"g{len(labels)}"
            labels[group] = label
            groups.append(b"(?P<" + group.encode() + b">" + look + b")")
        scan = re.compile(re.escape(prefix) + quick + b"(?:" + b"|".join(groups) + b")")
        scans.append((triggers.scan_bit(prefix), scan))
    return scans, labels


_SCANS, _GROUP_LABELS = _build_scans()
#: The bits of :func:`learn.privacy.triggers.fired` that belong to the scans here.
SCAN_BITS = sum(bit for bit, _ in _SCANS)
MIN_LEN = 8  # nothing shorter can hold a finding ("pwd=abcd")

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
    return kind if _mixes(value, classes) and not allowlist.placeholder_token(value) else None


# Prefixes distinctive enough to be found even glued to a preceding word ("Bearerghp_...",
# "apikeysk_live_...", "keyidAKIA...").
_NO_LEFT_BOUNDARY = frozenset(
    [
        *("ghp", "ghpat", "ant", "oaiproj", "slack", "slackapp", "whsec", "gapi", "gsecret"),
        *("gitlab", "pypi", "aws", "stripe", "ya29", "sendgrid", "docker", "do", "shopify"),
        *("linear", "pscale", "supabase", "sentry", "rubygems", "fly", "age", "postman"),
        *("newrelic", "tfc", "jwt"),
    ]
)


def _token_at(text: str, start: int, names: list[str]) -> tuple[int, int, str] | None:
    if start < 0:
        return None
    for name in names:
        needs_boundary = name not in _NO_LEFT_BOUNDARY or text.startswith("_test_", start + 2)
        if needs_boundary and not _left_ok(text, start):
            continue  # "task-Runner-...", "mask-RCNN-...": not a key
        m = _TOKEN_RE[name].match(text, start)
        if m:
            kind, _, classes = _TOKENS[name]
            if not _mixes(m.group(), classes) or allowlist.placeholder_token(m.group()):
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
        *("include", "omit", "same-origin", "files", "compat", "systemd", "sss"),  # fetch, nss
        *("await", "new", "yield", "async", "function", "lambda", "typeof", "return"),  # code
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
        or allowlist.placeholder_value(v)
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
            return _prose(text, name, m.end())  # "the password is ...", "api token ..."
    elif sep == ":":
        # YAML/JSON style needs a quoted name or a blank after the colon (not "a::b", "x:y").
        if after == ":" or not (m.group("q") or after in (" ", "\t", '"', "'")):
            return None
    elif sep == "=" and after in ("=", "~"):
        return None  # a comparison
    if not _secret_name(name):
        return None
    if sep == ":" and (block := _MULTILINE.match(text, m.end())):
        return _block_value(text, start, block.end())
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
        return _key_tail(text, p)
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


# --- prose, multi-line values, command-line flags, base64 blobs --------------------------------

_PROSE_NAMES = frozenset(
    ["password", "passwd", "passphrase", "pwd", "token", "secret", "key", "apikey", "api_key"]
)
_PROSE_VALUE = re.compile(
    r"""(?:(?:is|was|to|set[ \t]+to)[ \t]+|[:=][ \t]*)?['"`]?(?P<v>[^\s'"`]{6,256})"""
)
_TRAILING_PUNCT = ".,;:)]}>"
_CLASSES = (re.compile("[A-Z]"), re.compile("[a-z]"), re.compile("[0-9]"), re.compile(r"[^\w\s]"))
_WORDS = re.compile(r"[A-Za-z]+(?:[-_.][A-Za-z]+)*")
_PATHLIKE = re.compile(r"[/\\~]|://|^\.|\.[a-z]{1,4}$|^v?[0-9.]+$|^[a-z_][a-z0-9_]*\(?$")


def _random_looking(value: str, min_len: int) -> bool:
    """A password or key rather than a word, a path, a version or an identifier."""
    if len(value) < min_len or _PATHLIKE.search(value) or _placeholder(value):
        return False
    classes = sum(1 for c in _CLASSES if c.search(value))
    return classes >= 3 or (classes == 2 and len(value) >= 12 and not _WORDS.fullmatch(value))


def _prose(text: str, name: str, pos: int) -> tuple[int, int, str] | None:
    """``the password is hunter2!x``, ``use the api token Abc123...``: the value after a secret
    word in a sentence, when it looks random (a word, a path or a number is left alone)."""
    word = name.lower().rsplit(" ", 1)[-1]
    if word not in _PROSE_NAMES:
        return None
    m = _PROSE_VALUE.match(text, pos)
    if m is None:
        return None
    start, end = m.span("v")
    while end > start and text[end - 1] in _TRAILING_PUNCT:
        end -= 1
    value = text[start:end]
    stated = text[pos:start].strip(" \t'\"`") in ("is", "was", "to", ":", "=")
    if not _random_looking(value, 6 if stated else 10):
        return None
    return start, end, _token_kind(value) or "secret-prose"


_MULTILINE = re.compile(r"[ \t]*[|>][-+]?[0-9]?[ \t]*(?:#[^\n]*)?\n")


def _block_value(text: str, key_start: int, body: int) -> tuple[int, int, str] | None:
    """A YAML block scalar (``password: |`` / ``>-``): every following line indented deeper
    than the key."""
    line_start = text.rfind("\n", 0, key_start) + 1
    indent = len(text[line_start:key_start]) - len(text[line_start:key_start].lstrip(" -"))
    pos = end = body
    for _ in range(256):
        nl = text.find("\n", pos)
        line = text[pos : nl if nl >= 0 else len(text)]
        stripped = line.lstrip(" ")
        if stripped and len(line) - len(stripped) <= indent:
            break
        if stripped:
            end = pos + len(line)
        if nl < 0:
            break
        pos = nl + 1
    value = text[body:end].strip()
    if not value or _placeholder(value):
        return None
    return body + len(text[body:end]) - len(text[body:end].lstrip()), end, "secret-assignment"


# Commands whose flag takes a password: {command: {flag: how}}; "glued" (-pSECRET only, since
# "-p NAME" is a database), "value" (the next word), "userinfo" (user:PASSWORD).
_FLAG_COMMANDS: dict[str, dict[str, str]] = {
    **{c: {"-p": "glued"} for c in ("mysql", "mysqldump", "mysqladmin", "mariadb", "mysqlsh")},
    **{c: {"-p": "value"} for c in ("sshpass", "twine", "mongo", "mongosh", "mongodump")},
    **{c: {"-p": "value"} for c in ("mongorestore", "mongoexport", "mongoimport")},
    **{c: {"-p": "login"} for c in ("docker", "podman", "nerdctl", "buildah", "skopeo")},
    **{c: {"-p": "login"} for c in ("helm", "oras", "crane", "regctl")},
    "redis-cli": {"-a": "value"},
    "curl": {"-u": "userinfo", "--user": "userinfo"},
    "http": {"-a": "userinfo"},
    "https": {"-a": "userinfo"},
}
_SEGMENT_BREAK = re.compile(r"\n|;|&&|\|\||\||\$\(|`")
_WRAPPERS = frozenset(["sudo", "env", "time", "exec", "nohup", "command", "!", "-", "$", ">"])
_FLAG_AT = re.compile(r"(?P<f>--user|-[pua])(?:(?P<glued>[^\s=])|=|[ \t]+)")
_FLAG_VALUE = re.compile(
    r"""'(?P<s>[^'\n]{1,256})'|"(?P<d>[^"\n]{1,256})"|(?P<u>[^\s'";|&)`]{1,256})"""
)


def _command(text: str, pos: int) -> tuple[str, list[str]]:
    """The command name (lower-case basename) and the words before ``pos`` in its segment."""
    lo = max(0, pos - 2000)
    seg = text[lo:pos]
    breaks = list(_SEGMENT_BREAK.finditer(seg))
    words = seg[breaks[-1].end() if breaks else 0 :].split()
    for i, word in enumerate(words):
        if word in _WRAPPERS or "=" in word or word.startswith("-"):
            continue
        return word.rsplit("/", 1)[-1].lower(), words[i + 1 :]
    return "", []


def _flag(text: str, pos: int) -> tuple[int, int, str] | None:
    """A password given on a command line: ``mysql -pX``, ``sshpass -p X``, ``docker login -p X``,
    ``redis-cli -a X``, ``curl -u user:X``."""
    m = _FLAG_AT.match(text, pos)
    if m is None:
        return None
    cmd, before = _command(text, pos)
    how = _FLAG_COMMANDS.get(cmd, {}).get(m.group("f"))
    if how is None or (how == "glued" and not m.group("glued")):
        return None
    if how == "login" and "login" not in before:
        return None
    v = _FLAG_VALUE.match(text, m.start("glued") if m.group("glued") else m.end())
    if v is None:
        return None
    start, end = v.span(v.lastgroup or "u")
    value = text[start:end]
    if how == "userinfo":
        colon = value.find(":")
        if colon < 0:
            return None
        start += colon + 1
        value = value[colon + 1 :]
    if not value or _placeholder(value) or value.startswith(("$", "-")):
        return None
    return start, end, _token_kind(value) or "password-flag"


_B64_BEFORE = re.compile(
    r"""(?:echo|printf)(?:[ \t]+-[a-zA-Z]+)*[ \t]+(?P<q>['"]?)(?P<b>[A-Za-z0-9+/_-]{12,8192}={0,2})(?P=q)[ \t]*\|[ \t]*(?:\S+/)?$"""
)
_B64_AFTER = re.compile(
    r"""[ \t]+(?:-d|-D|--decode)(?:[ \t]+-[a-zA-Z]+)*[ \t]*<<<[ \t]*(?P<q>['"]?)(?P<b>[A-Za-z0-9+/_-]{12,8192}={0,2})"""
)
_NOT_SECRET_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF", b"\x1f\x8b", b"PK\x03\x04")
_USERINFO = re.compile(r"\s*[^\s:]{1,128}:\S{3,}\s*")
_SECRET_WORD = re.compile(r"(?i)pass|secret|token|auth|key|cred")


def _credential_bytes(data: bytes) -> bool:
    """Whether decoded base64 holds a credential (not an image or ordinary text)."""
    if data.startswith(_NOT_SECRET_MAGIC):
        return False
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return True  # binary key material
    return bool(
        _USERINFO.fullmatch(decoded) or _SECRET_WORD.search(decoded) or find_secrets(decoded)
    )


def _base64_blob(text: str, pos: int) -> tuple[int, int, str] | None:
    """A credential-bearing base64 blob decoded on a command line (``echo BLOB | base64 -d``,
    ``base64 --decode <<< BLOB``)."""
    line_start = max(text.rfind("\n", 0, pos) + 1, pos - 8400)
    m = _B64_BEFORE.search(text, line_start, pos)
    if m is None:
        m = _B64_AFTER.match(text, pos + 6)
    if m is None:
        return None
    blob = m.group("b")
    try:
        data = base64.b64decode(
            blob + "=" * (-len(blob) % 4), altchars=b"-_" if "-" in blob or "_" in blob else None
        )
    except ValueError:
        return None
    if not _credential_bytes(data):
        return None
    return m.start("b"), m.end("b"), "base64-credential"


_KEY_LINES_BEFORE = re.compile(
    r"(?:[A-Za-z0-9+/=]{16,}(?:\\n|\r?\n))+(?=-----END[A-Z0-9 ]{0,40}PRIVATE KEY)"
)


def _key_tail(text: str, p: int) -> tuple[int, int, str] | None:
    """The key material before an END line whose BEGIN was cut off (the tail of a key)."""
    end_at = text.rfind("-----END", max(0, p - 60), p)
    if end_at < 0:
        return None
    e = _PKEY_END.match(text, end_at)
    m = _KEY_LINES_BEFORE.search(text, max(0, end_at - 16384), e.end() if e else end_at)
    if e is None or m is None or m.end() != end_at:
        return None
    return m.start(), e.end(), "private-key"


# --- finding ------------------------------------------------------------------------------

_Candidate = tuple[int, int, int, str]  # (priority, start, end, kind)


def _anchors(text: str, fired: int | None = None) -> list[tuple[int, str]]:
    """(position in ``text``, label) of every scan hit, sorted. ``fired``: the triggers of
    ``text`` when the caller already has them (:func:`learn.privacy.triggers.fired`)."""
    if len(text) < MIN_LEN or (fired is not None and not fired & SCAN_BITS):
        return []
    data = text.encode("utf-8", "surrogatepass")
    if fired is None:
        fired = triggers.fired(data)
        if not fired & SCAN_BITS:
            return []
    low = data.lower()
    hits = []
    for bit, scan in _SCANS:
        if not fired & bit:
            continue  # its trigger is not in the text: nor is anything this scan would find
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
        elif label == "prose":
            found, prio = _prose(text, "key", pos + 2), _PRIO_ASSIGN
        elif label == "flag":
            found, prio = _flag(text, pos), _PRIO_ASSIGN
        elif label == "b64":
            found, prio = _base64_blob(text, pos), _PRIO_TOKEN
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


def find_secrets(text: str, fired: int | None = None) -> list[Finding]:
    """Every secret in ``text``, sorted by position, non-overlapping. ``fired``: the triggers
    of ``text``, when the caller already has them."""
    hits = _anchors(text, fired)
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


def redact(text: str, fired: int | None = None) -> str:
    """``text`` with every secret replaced by ``[REDACTED:<kind>]``.

    Text without any candidate is returned as is (the same object). Redaction repeats until
    nothing more is found (each round only shrinks the unredacted text), so the result is a
    fixed point: ``redact(redact(x)) == redact(x)``. ``fired``: the triggers of ``text``, when
    the caller already has them.
    """
    findings = find_secrets(text, fired)
    while findings:
        text = _apply(text, findings)
        findings = find_secrets(text)
    return text


#: How far past a cut :func:`redact_slice` looks, so that a secret (or the context that makes one,
#: like ``| base64 -d`` after a blob) across the cut is still found whole.
HEAD_MARGIN = 512


def redact_slice(text: str, start: int, end: int, fired: int | None = None) -> str:
    """``text[start:end]`` as :func:`redact` of the whole text would show it: a secret across
    either edge is replaced whole. Only ``HEAD_MARGIN`` characters either side are scanned, so a
    few lines kept from a long text cost a few lines' work. ``fired``: the triggers of
    ``text`` (or of a text it is part of), when the caller already has them."""
    lo = max(0, start - HEAD_MARGIN)
    window = text[lo : end + HEAD_MARGIN]
    a, b = start - lo, end - lo
    found = [f for f in find_secrets(window, fired) if f.start < b and f.end > a]
    if not found:
        return redact(window[a:b], fired)
    a = min([a, *(f.start for f in found)])
    b = max([b, *(f.end for f in found)])
    return redact(_apply(window[a:b], [Finding(f.kind, f.start - a, f.end - a) for f in found]))


def redact_head(text: str, keep: int, fired: int | None = None) -> str:
    """``redact_slice(text, 0, keep)``: the head of a long text about to be shortened."""
    return redact_slice(text, 0, keep, fired)
