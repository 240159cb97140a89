"""Which of the privacy checks a text can possibly need: one Hyperscan pass decides.

Redaction (``redact.py``) runs a dozen regular-expression scans over every string, and the
personal-data mask (``personal.py``) a few more; on ordinary text almost all of them find
nothing, yet each costs a pass. Here every scan has a *trigger*: a plain pattern (no
lookarounds) that matches wherever its scan could. All triggers are compiled into one
`Hyperscan <https://intel.github.io/hyperscan/>`_ database (the multi-pattern engine secret
scanners are built on), which looks for all of them in a single pass at several GB/s. Only the
scans whose trigger fired then run, on only that text.

A trigger may fire where its scan finds nothing (that costs a scan, not a secret); it must never
miss where the scan would find something. Each trigger is one of its scan's alternatives with
the lookarounds written as plain text and the negative ones (the scan's exceptions) left out, so
it fires wherever the scan matches. ``tests/test_triggers.py`` checks exactly that, scan by scan,
on generated and real text, and that redaction with every scan forced on gives the same result.

The bits of :func:`fired` are: one per secret scan, in the order of
``redact._SCAN_ALTS`` (keyed here by the same literal prefixes), then one per personal-data
check (:data:`HOMES`, :data:`PROJECT_DIRS`, :data:`CLAUDE`, :data:`EMAIL`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

import hyperscan

from learn.multimatch import PatternSet

__all__ = [
    "ALL",
    "CLAUDE",
    "EMAIL",
    "HOMES",
    "PROJECT_DIRS",
    "SECRET_TRIGGERS",
    "compile_now",
    "fired",
    "fired_each",
    "scan_bit",
    "serialized",
    "use_serialized",
]

_NAME = rb"[a-z0-9_.-]*"  # redact._NAME_B, unbounded: a superset, and a smaller database
_SEP = rb"""(?:\\?["'])?[ \t]*[:=]"""  # redact._SEP_B without its exceptions
# redact._kw's sentence form ("the password is ..."): a blank, then a word with a digit or symbol
_SENTENCE = rb"[ \t]+(?:(?:is|was|to)[ \t]+|:[ \t]*)?[^ \t\n\r\f\x0b]*[0-9!#$%&*+=?@^~]"


def _keyword(word: bytes, flag: bytes, sentence: bytes | None = None) -> tuple[bytes, ...]:
    """The triggers of a secret word, as ``redact._kw`` scans it: ``word`` then a name and a
    separator (``DB_PASSWORD=``); the ``flag`` form then a name and a blank (``--token x``);
    and, if given, the ``sentence`` form (``password is ...``)."""
    found = (word + _NAME + _SEP, flag + _NAME + rb"[ \t]")
    return found if sentence is None else (*found, sentence + _SENTENCE)


#: Per redaction scan (the key is its literal prefix in ``redact._SCAN_ALTS``), the patterns
#: that fire wherever it can match: its alternatives with their lookarounds written as plain
#: text, and the negative ones (exceptions) left out. Matched without regard to case, as the
#: scans run on lower-cased text. Secret words are common ("tokens", "passed", "author"), so
#: their triggers keep the separator that must follow: most text then fires nothing.
SECRET_TRIGGERS: dict[bytes, tuple[bytes, ...]] = {
    b"_": (
        rb"gh[pousr]_",
        rb"github_pat_",
        rb"whsec_",
        rb"npm_",
        rb"hf_",
        rb"[sr]k_(?:live|test)_",
        rb"dckr_",
        rb"do[por]_v1_",
        rb"shp(?:at|ss|ca|pa)_",
        rb"lin_(?:api|oauth)_",
        rb"pscale_",
        rb"sbp_",
        rb"gl(?:c|sa)_",
        rb"sntry[su]_",
        rb"rubygems_",
        rb"fo1_",
    ),
    b"-": (
        rb"sk-",
        rb"xox[abposre]-",
        rb"xapp-",
        rb"gocspx-",
        rb"glpat-",
        rb"pypi-age",
        rb"age-secret-key-1",
        rb"pmak-",
        rb"nrak-",
        rb"key-[0-9a-f]{32}",
        rb"[ \t\n\r\f\x0b'\"]-(?:[pua]|-user[ =])",  # a -p, -u, -a or --user flag
    ),
    b"k": (
        *_keyword(rb"token", rb"-token", rb"token"),
        *_keyword(rb"[a-z][_-]?key", rb"-key"),  # apiKey, api_key, x-api-key; --key
        rb"api key[ \t]",
        rb"akia",
        rb"sk[0-9a-f]{32}",
        rb"hooks\.slack\.com/",
        rb"private key",
    ),
    b"cre": (*_keyword(rb"secret", rb"-secret", rb"secret"), *_keyword(rb"cred", rb"-cred")),
    b"pass": _keyword(rb"pass", rb"-pass", rb"pass(?:word|wd|phrase)"),
    b"pwd": _keyword(rb"pwd", rb"-pwd", rb"pwd"),
    b"auth": _keyword(rb"auth", rb"-auth"),
    b"@": (rb"[^ \t\n\r\f\x0b]@[a-z0-9\[]",),  # \S of Python's bytes patterns, spelled out
    b"eyj": (rb"eyj",),
    b"a": (rb"asia", rb"aiza", rb"dapi[0-9a-f]{32}"),
    b".": (rb"ya29\.", rb"sg\.", rb"hv[sbr]\.", rb"\.atlasv1\."),
    b"base64": (rb"base64",),
}
_N_SECRET = len(SECRET_TRIGGERS)

# The personal-data checks (personal.py), case-sensitive, each as its own bit.
HOMES, PROJECT_DIRS, CLAUDE, EMAIL = (1 << (_N_SECRET + i) for i in range(4))
_PERSONAL: tuple[tuple[int, tuple[bytes, ...]], ...] = (
    (HOMES, (rb"/home/", rb"Users")),
    (PROJECT_DIRS, (rb"-home-", rb"-Users-")),
    (CLAUDE, (rb"\.claude",)),
    (EMAIL, (rb"@[A-Za-z0-9]",)),
)

#: Every bit: what :func:`fired` would say if every check had to run.
ALL = (1 << (_N_SECRET + len(_PERSONAL))) - 1


def scan_bit(prefix: bytes) -> int:
    """The bit of the redaction scan with this literal prefix."""
    return 1 << list(SECRET_TRIGGERS).index(prefix)


def serialized() -> bytes:
    """The compiled database as bytes, for a process of the same installation
    (:func:`use_serialized`): loading it takes a millisecond, compiling a hundred."""
    return _PATTERNS.serialized()


def compile_now() -> None:
    """Compile the database now, if not yet done (before a fork: the child shares it)."""
    _PATTERNS.database()


def use_serialized(data: bytes) -> None:
    """Use a database :func:`serialized` by another process of this installation."""
    _PATTERNS.use_serialized(data)


def _compile() -> hyperscan.Database:
    """All triggers in one block-mode database; a trigger's id is its bit's position."""
    expressions: list[bytes] = []
    ids: list[int] = []
    flags: list[int] = []
    # Every match is reported (no HS_FLAG_SINGLEMATCH): so one pass over many texts joined
    # tells each text's triggers (fired_each). Matches are few: about one per 1,600 bytes of
    # the digest's texts; a scan thick with them is cut short (_most_hits).
    for position, patterns in enumerate(SECRET_TRIGGERS.values()):
        for pattern in patterns:
            expressions.append(pattern)
            ids.append(position)
            flags.append(hyperscan.HS_FLAG_CASELESS)
    for bit, patterns in _PERSONAL:
        for pattern in patterns:
            expressions.append(pattern)
            ids.append(bit.bit_length() - 1)
            flags.append(0)
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags)
    return db


_PATTERNS = PatternSet(_compile)


def _most_hits(size: int) -> int:
    """The matches a scan of ``size`` bytes may report before it is cut short: one per 16
    bytes, far above real text's; past it the text is taken to fire every trigger (that costs
    scans, never a secret), so a text made of matches costs no Python call per match."""
    return 64 + size // 16


class _Hits(list[tuple[int, int]]):
    """A scan's matches, ``(trigger, end offset)``, up to ``most``."""

    def __init__(self, most: int) -> None:
        super().__init__()
        self.most = most


def _on_match(trigger: int, _start: int, end: int, _flags: int, hits: _Hits) -> bool:
    hits.append((trigger, end))
    return len(hits) > hits.most  # True: enough, stop (hyperscan.ScanTerminated)


def fired(data: bytes) -> int:
    """The bits of the checks whose trigger occurs in ``data`` (UTF-8 text); every bit for a
    text thick with matches (:func:`_most_hits`)."""
    hits = _Hits(_most_hits(len(data)))
    try:
        _PATTERNS.scan(data, _on_match, hits)
    except hyperscan.ScanTerminated:
        return ALL
    bits = 0
    for trigger, _end in hits:
        bits |= 1 << trigger
    return bits


def fired_each(texts: Sequence[bytes]) -> list[int]:
    """:func:`fired` of each of ``texts``, by one pass over them all, joined by line breaks:
    one scan of many short texts costs much less than a scan of each (Hyperscan's start-up,
    a Python call). A match belongs to the text it ends in, so each text has every match it
    has alone; one that spans a line break only makes a text fire more than alone (a scan
    for nothing, never a secret missed)."""
    if len(texts) < 2:
        return [fired(data) for data in texts]
    ends: list[int] = []
    end = -1
    for data in texts:
        end += len(data) + 1
        ends.append(end)
    hits = _Hits(_most_hits(end))
    try:
        _PATTERNS.scan(b"\n".join(texts), _on_match, hits)
    except hyperscan.ScanTerminated:  # thick with matches: each on its own (and its bound)
        return [fired(data) for data in texts]
    bits = [0] * len(texts)
    for trigger, at in hits:
        bits[bisect_left(ends, at)] |= 1 << trigger
    return bits
