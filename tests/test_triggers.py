"""learn.privacy.triggers: a trigger fires wherever its scan (or personal-data check) can match.

The triggers only decide which scans run; they are sound when, for every text, each scan that
matches has its trigger fired. That is checked scan by scan on generated text (hypothesis, built
from the fragments secrets and their contexts are made of), on every planted secret and
look-alike of the privacy corpus, on the bundled examples, and on the real transcripts of
``../shared/corpus`` when present. Redaction and masking with the triggers must equal redaction
and masking with every check forced on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learn.privacy import personal, redact, triggers
from learn.privacy.outbound import scrub, scrub_head, scrub_slice
from learn.transcripts.background_child import _strings as strings_of
from tests.support.secret_corpus import negatives, positives

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "sessions"


def _missed(text: str) -> list[str]:
    """The scans and checks that would find something in ``text`` but whose trigger is silent."""
    data = text.encode("utf-8", "surrogatepass")
    fired = triggers.fired(data)
    low = data.lower()
    missed = [
        f"scan {prefix!r}"
        for prefix, (bit, scan) in zip(redact._SCAN_ALTS, redact._SCANS, strict=True)
        if scan.search(low) is not None and not fired & bit
    ]
    # The personal checks: what the substring checks let through and the triggers did not
    # must not change what the mask finds.
    extra = personal._fired(text) & ~fired
    if extra and personal._spans(text, (), fired | extra) != personal._spans(text, (), fired):
        missed.append(f"personal {extra:#x}")
    return missed


def _agrees(text: str) -> None:
    assert _missed(text) == [], repr(text[:200])
    data = text.encode("utf-8", "surrogatepass")
    fired = triggers.fired(data)
    assert redact.find_secrets(text, fired) == redact.find_secrets(text, triggers.ALL)
    assert personal.mask(text, (), fired) == personal.mask(text, (), triggers.ALL)
    # Given the triggers of a longer text it is part of (the background reader's notes), the
    # scrub functions give what they give without them.
    outer = triggers.fired(("password: x " + text + " /home/a").encode("utf-8", "surrogatepass"))
    for hint in (fired, outer, triggers.ALL):
        assert scrub(text, (), hint) == scrub(text)
        cut = len(text) // 2
        assert scrub_head(text, cut, (), hint) == scrub_head(text, cut)
        assert scrub_slice(text, cut // 2, cut, (), hint) == scrub_slice(text, cut // 2, cut)


def test_every_scan_has_its_trigger() -> None:
    assert list(triggers.SECRET_TRIGGERS) == list(redact._SCAN_ALTS)
    bits = [bit for bit, _ in redact._SCANS]
    assert len(set(bits)) == len(bits)
    personal_bits = [triggers.HOMES, triggers.PROJECT_DIRS, triggers.CLAUDE, triggers.EMAIL]
    assert not set(bits) & set(personal_bits)
    assert sum(bits) | sum(personal_bits) == triggers.ALL


def test_ordinary_text_fires_nothing() -> None:
    text = "Ran 12 tests in 0.4s, 3 passed\nsrc/app/models.py:41: the author counts tokens"
    assert triggers.fired(text.encode()) == 0
    assert triggers.fired(b"tests passed: 3") == triggers.scan_bit(b"pass")  # fires; finds none
    assert redact.find_secrets("tests passed: 3") == []
    assert triggers.fired(b"def add(a, b):\n    return a + b\n") == 0
    assert scrub("def add(a, b):\n    return a + b\n") == "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ("export GITHUB_TOKEN=abc", b"k"),
        ("apiKey: 1", b"k"),
        ("db_password = 2", b"pass"),
        ("Authorization: Bearer x", b"auth"),
        ("mysql -pHunter", b"-"),
        ("https://u:p@host", b"@"),
        ("AKIA" + "X" * 16, b"k"),
        ("AIza" + "x" * 35, b"a"),
        ("echo abc | base64 -d", b"base64"),
    ],
)
def test_a_trigger_fires_for_its_scan(text: str, prefix: bytes) -> None:
    assert triggers.fired(text.encode()) & triggers.scan_bit(prefix)


def test_personal_triggers() -> None:
    assert triggers.fired(b"/home/alice/x") & triggers.HOMES
    assert triggers.fired(b"C:\\Users\\bob") & triggers.HOMES
    assert triggers.fired(b"-home-alice-src") & triggers.PROJECT_DIRS
    assert triggers.fired(b"~/.claude/settings.json") & triggers.CLAUDE
    assert triggers.fired(b"mail jane@corp.io") & triggers.EMAIL
    assert not triggers.fired(b"@@ -1,3 +1,4 @@") & triggers.EMAIL  # no address after the @


def test_planted_secrets_and_look_alikes() -> None:
    for sample in [*positives(), *negatives(), *positives(seed=3)]:
        _agrees(sample.text)
        _agrees(sample.text.upper())


FRAGMENTS = [
    *("token", "TOKEN", "Token", "key", "Key", "_key", "-key", "api key", "apiKey", "secret"),
    *("cred", "pass", "password", "passwd", "pwd", "auth", "Authorization", "author"),
    *("=", ":", ": ", ":=", "=>", '"', "'", '\\"', "\\", "\\n", " ", "\t", "\n", "-", "--"),
    *("-p", "-u", "-a", "--user", "mysql ", "curl ", "docker login ", "base64", " -d", "| "),
    *("ghp_", "github_pat_", "sk-", "sk_live_", "xoxb-", "AKIA", "ASIA", "AIza", "ya29.", "SG."),
    *("eyJ", "hvs.", ".atlasv1.", "dapi", "glpat-", "npm_", "hf_", "key-", "SK", "private key"),
    *("-----BEGIN RSA PRIVATE KEY-----", "hooks.slack.com/services/", "://", "user", "@"),
    *("host", "/home/", "Users", "C:\\", "-home-", "-Users-", ".claude/", "~", "é", "😀"),
    *("0123456789abcdef" * 2, "A1b2C3d4" * 3, "x", "Z", "9", "."),
    *("word", "phrase", "wd", " is ", " was ", " to ", "!", "#", "$", "?", "s", "iz", "or"),
]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=24).map("".join))
def test_property_triggers_miss_nothing(text: str) -> None:
    _agrees(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_property_any_text(text: str) -> None:
    _agrees(text)


def _transcript_strings(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        for raw in path.read_bytes().splitlines():
            try:
                yield from strings_of(orjson.loads(raw))
            except orjson.JSONDecodeError:
                continue


def test_examples_every_string() -> None:
    paths = sorted((ROOT / "examples").glob("*.jsonl"))
    assert paths
    for text in _transcript_strings(paths):
        assert _missed(text) == []


def test_real_transcripts_every_string() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not here (a fresh clone has no corpus)")
    paths = sorted(CORPUS.rglob("*.jsonl"))
    missed = [m for text in _transcript_strings(paths) for m in _missed(text)]
    assert missed == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join), max_size=12))
def test_property_one_pass_for_many_texts(texts: list[str]) -> None:
    """``fired_each`` gives each text at least its own triggers (one spanning the line break
    between two texts may add some to the second: a scan for nothing, never one missed)."""
    datas = [t.encode("utf-8", "surrogatepass") for t in texts]
    for data, bits in zip(datas, triggers.fired_each(datas), strict=True):
        alone = triggers.fired(data)
        assert bits & alone == alone
        assert _scrubbed_alike(data.decode("utf-8", "surrogatepass"), bits)


def _scrubbed_alike(text: str, bits: int) -> bool:
    return scrub(text, (), bits) == scrub(text)


def test_one_pass_for_many_texts_on_examples() -> None:
    """On real text the one pass gives exactly what a pass per text gives."""
    paths = sorted((ROOT / "examples").glob("*.jsonl"))
    datas = [t.encode("utf-8", "surrogatepass") for t in _transcript_strings(paths)]
    assert len(datas) > 1_000
    assert triggers.fired_each(datas) == [triggers.fired(d) for d in datas]


def test_a_text_thick_with_matches_fires_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """A text made of matches is not reported match by match: past one match per 16 bytes it
    is taken to fire every trigger (every check then runs on it; none is missed)."""
    calls = 0
    on_match = triggers._on_match

    def counting(*args: Any) -> bool:
        nonlocal calls
        calls += 1
        return on_match(*args)

    monkeypatch.setattr(triggers, "_on_match", counting)
    thick = b"a@b " * 50_000  # 200 KB, an address-like match every 4 bytes
    assert triggers.fired(thick) == triggers.ALL
    assert calls == triggers._most_hits(len(thick)) + 1
    calls = 0
    assert triggers.fired_each([b"nothing here", thick, b"/home/x"]) == [
        0,
        triggers.ALL,
        triggers.HOMES,
    ]
    assert calls <= 2 * (triggers._most_hits(len(thick)) + 2)
    text = thick.decode()[:400] + " password=hunter2x"
    assert "hunter2x" not in scrub(text, (), triggers.ALL)
