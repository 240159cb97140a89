"""The synthetic secret corpus (tests/support/secret_corpus.py): every planted secret is gone
from every output, harmless look-alikes are left alone, and the placeholder allow-list holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from learn.digest import build_digest
from learn.privacy import allowlist
from learn.privacy.outbound import clean, clean_digest
from learn.privacy.redact import redact
from learn.transcripts.files import discover
from tests.support import secret_corpus as sc
from tests.support.transcripts import assistant, tool_result, user, write_jsonl

POSITIVES = sc.positives()
NEGATIVES = sc.negatives()
SCANNER_ONLY = sc.scanner_positives()


def _ids(samples: list[sc.Sample]) -> list[str]:
    return [f"{i:02d}-{s.family}" for i, s in enumerate(samples)]


def _leaks(sample: sc.Sample, output: str) -> list[str]:
    return [n[:4] + "…" for n in sample.needles if sc.leaked(n, output)]


def test_the_corpus_is_big_and_varied_enough() -> None:
    assert len(POSITIVES) >= 40
    assert len({s.family for s in POSITIVES}) >= 40
    assert len(NEGATIVES) >= 60
    assert sc.positives() == POSITIVES  # deterministic for a seed
    assert sc.positives(12) != POSITIVES


@pytest.mark.parametrize("sample", POSITIVES, ids=_ids(POSITIVES))
def test_the_first_pass_redacts_every_planted_secret(sample: sc.Sample) -> None:
    out = redact(sample.text)
    assert not _leaks(sample, out), out


@pytest.mark.parametrize("sample", SCANNER_ONLY, ids=_ids(SCANNER_ONLY))
def test_the_second_pass_masks_what_our_rules_do_not_know(sample: sc.Sample) -> None:
    assert redact(sample.text) == sample.text  # not one of our families...
    out = clean(sample.text)
    assert not _leaks(sample, out), out  # ...yet the scanner's rules mask it
    assert "[REDACTED:" in out


def test_false_positives_stay_under_three_percent() -> None:
    changed = [s.family for s in NEGATIVES if clean(s.text) != s.text]
    assert len(changed) <= 0.03 * len(NEGATIVES), changed


@pytest.mark.parametrize(
    "text",
    [
        "SLACK_BOT_TOKEN=" + "xoxb-" + "your-bot-token-here",
        "export GITHUB_TOKEN=" + "ghp_" + "x" * 36,
        "key: " + "sk-" + "proj-" + "example-key-for-the-docs",
        "STRIPE_KEY=" + "sk_test_" + "X" * 24,
        "API_KEY=<your-api-key>",
        "password: changeme",
        "token: 'replace-with-your-token'",
        "ANTHROPIC_API_KEY=" + "sk-ant-...",
    ],
)
def test_documented_placeholders_are_allowed(text: str) -> None:
    assert redact(text) == text


def test_aws_documented_example_keys_are_still_redacted() -> None:
    """They look exactly like real keys (upper case EXAMPLE is not on the allow-list)."""
    text = "AWS_ACCESS_KEY_ID=" + "AKIA" + "IOSFODNN7" + "EXAMPLE"
    assert redact(text) == "AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key]"


@pytest.mark.parametrize("word", [*allowlist.PLACEHOLDER_WORDS, *allowlist.LOWER_CASE_WORDS])
def test_every_allow_list_word_lets_a_value_through(word: str) -> None:
    text = f"API_TOKEN=Q7{word}Zk93Lm"
    assert redact(text) == text
    assert redact("API_TOKEN=Q7Zk93Lmw8Xp") != "API_TOKEN=Q7Zk93Lmw8Xp"  # the same, no word


def test_low_diversity_values_are_placeholders() -> None:
    assert allowlist.placeholder_token("ghp_" + "0" * 36)
    assert not allowlist.placeholder_token("ghp_" + "A1b2" * 9)


def _transcript(path: Path, samples: list[sc.Sample]) -> Path:
    """Each sample where a session would hold it: a prompt, assistant text or thinking, a Bash
    command, an Edit, a tool result (every other one an error)."""
    lines: list[object] = []
    for i, s in enumerate(samples):
        u, m, t = f"u{i}", f"m{i}", f"t{i}"
        if s.where == "prompt":
            lines.append(user(s.text, u))
        elif s.where == "text":
            lines.append(assistant({"type": "text", "text": s.text}, u, m))
        elif s.where == "thinking":
            lines.append(assistant({"type": "thinking", "thinking": s.text}, u, m))
        else:
            if s.where == "command":
                call = {"name": "Bash", "input": {"command": s.text}}
                result = "done"
            elif s.where == "edit":
                edit = {"file_path": "/repo/app/config.py", "old_string": "x", "new_string": s.text}
                call, result = {"name": "Edit", "input": edit}, "edited"
            else:
                call, result = {"name": "Bash", "input": {"command": "cat config"}}, s.text
            lines.append(assistant({"type": "tool_use", "id": t, **call}, u, m))
            lines.append(tool_result(t, result, u + "r", is_error=i % 2 == 1))
    return write_jsonl(path, lines)


def test_no_planted_secret_reaches_any_digest_output(tmp_path: Path) -> None:
    samples = [*POSITIVES, *SCANNER_ONLY]
    session = _transcript(tmp_path / "s.jsonl", samples)
    out = tmp_path / "digest"
    build_digest(discover([session]), out)
    clean_digest(out)
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.iterdir()))
    leaks = {s.family: found for s in samples if (found := _leaks(s, text))}
    assert not leaks
    assert text.count("[REDACTED:") >= len(samples)


def test_look_alikes_reach_the_digest_unchanged(tmp_path: Path) -> None:
    session = _transcript(tmp_path / "s.jsonl", NEGATIVES)
    out = tmp_path / "digest"
    build_digest(discover([session]), out)
    assert clean_digest(out) == 0
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.glob("digest-*.md")))
    assert "[REDACTED:" not in text


def test_secrets_across_the_excerpt_edges_are_redacted_whole(tmp_path: Path) -> None:
    """A long tool result keeps its head, error lines and tail: a key whose BEGIN line is in
    the omitted middle, a token cut by the 300-character line limit, a secret at a piece's edge
    — each is redacted as the whole result would be."""
    g = sc.positives(5)
    key = next(s for s in g if s.family == "private-key")
    token = next(s for s in g if s.family == "github-pat").needles[0]
    jwt = next(s for s in g if s.family == "jwt")
    lines = [f"step {i}: ok" for i in range(8000)]  # long enough to be scrubbed piece by piece
    lines[1] = "x" * 290 + f" GITHUB_TOKEN={token}"  # cut by the 300-character line limit
    lines[4000] = "error: auth failed for " + jwt.text  # an error line in the middle
    text = "\n".join([*lines, key.text])  # only the key's last lines are in the tail
    session = write_jsonl(
        tmp_path / "s.jsonl",
        [
            assistant(
                {"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": "make"}},
                "u1",
                "m1",
            ),
            tool_result("t", text, "u2", is_error=True),
        ],
    )
    out = tmp_path / "digest"
    build_digest(discover([session]), out)
    digest = "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.iterdir()))
    for needle in (token, *jwt.needles, *key.needles):
        assert not sc.leaked(needle, digest)
    assert "[REDACTED:private-key]" in digest and "error: auth failed" in digest


def test_the_tail_of_a_key_without_its_begin_line_is_redacted() -> None:
    key = next(s for s in sc.positives(5) if s.family == "private-key")
    tail = key.text[key.text.index("\n", len(key.text) // 2) + 1 :]
    out = redact(tail)
    assert out.startswith("[REDACTED:private-key]")
    assert not any(sc.leaked(n, out) for n in key.needles)
