"""Topic docs from candidate lessons: short entries, tripwires once, merged without duplicates,
plain text, bounded; and the evidence pack a model gets."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from learn import learned_docs as docs
from learn.engines import EngineJob
from learn.engines.claude import FIRST_REQUEST_TOKENS, build_prompt
from learn.lessons import writer
from learn.lessons.candidates import Candidate
from learn.lessons.pack import PACK_CHARS, evidence_pack
from learn.lessons.topics import topic_of


def failure(n: int = 1, **fields: object) -> Candidate:
    base: dict[str, object] = {
        "tool": "Bash",
        "command": "pnpm run test:unit",
        "error": 'ERR_PNPM_NO_SCRIPT  Missing script: "test:unit"',
        "fix": "pnpm run test-unit",
    }
    return Candidate("error_fixed", "tool", "main", n, 0.8, **{**base, **fields})  # type: ignore[arg-type]


def correction(said: str, n: int = 2) -> Candidate:
    return Candidate(
        "user_correction",
        "prompt",
        "main",
        n,
        0.9,
        said=said,
        commands=["git commit -m 'Fix footer'"],
    )


def learn(root: Path, candidates: list[Candidate], session: str) -> list[tuple[str, str]]:
    return writer.write(
        writer.plan(candidates), root, sessions=[session], issue=None, today="2026-01-02"
    )


def read(root: Path, rel: str) -> docs.LearnedDoc:
    return docs.parse((root / rel).read_text(), path=Path(rel))


def test_topics_come_from_commands_and_files_not_prompts() -> None:
    assert (topic_of(failure()).category, topic_of(failure()).slug) == ("testing", "pnpm")
    commit = correction("commit without your signature")
    assert (topic_of(commit).category, topic_of(commit).slug) == ("git", "commits")
    ci = Candidate(
        "error_fixed",
        "pasted",
        "main",
        3,
        0.75,
        error="Error: Version 3.14 was not found in the tool cache on the runner",
        files=[".github/workflows/ci.yml"],
    )
    assert topic_of(ci).category == "ci"
    style = Candidate(
        "user_correction",
        "bug-report",
        "main",
        4,
        0.8,
        said="the icon and the label overlap",
        files=["src/menu.css"],
    )
    assert (topic_of(style).category, topic_of(style).slug) == ("code", "styles")


def test_a_failure_is_a_tripwire_once_and_nowhere_else(tmp_path: Path) -> None:
    learn(tmp_path, [failure()], "s-1")
    doc = read(tmp_path, "testing/pnpm.md")
    assert [t.action for t in doc.tripwires] == ["running `pnpm run test:unit`"]
    assert "what worked: `pnpm run test-unit`" in doc.tripwires[0].warning
    assert "Missing script" not in doc.body
    docs.regenerate_index(tmp_path)
    index = (tmp_path / "index.md").read_text()
    assert "Missing script" not in index and "testing/pnpm.md" in index


def test_two_sessions_on_one_topic_update_one_doc_without_duplicates(tmp_path: Path) -> None:
    learn(tmp_path, [failure(), correction("commit without your signature")], "s-1")
    newer = failure(error='ERR_PNPM_NO_SCRIPT  Missing script: "test:unit" (pnpm 9)')
    learn(tmp_path, [newer, correction("squash before you push")], "s-2")
    tests = read(tmp_path, "testing/pnpm.md")
    assert len(tests.tripwires) == 1 and "(pnpm 9)" in tests.tripwires[0].warning  # newest wins
    assert tests.sessions == ["s-1", "s-2"]
    commits = read(tmp_path, "git/commits.md")
    assert commits.body.count("- The user said") == 2 and commits.sessions == ["s-1", "s-2"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md")) == [
        "git/commits.md",
        "testing/pnpm.md",
    ]


@pytest.mark.parametrize("said", ["", "Declare it first"])
def test_errors_that_differ_inside_their_backticks_are_two_lessons(
    tmp_path: Path, said: str
) -> None:
    """Rust quotes names in backticks: a lesson is told apart by its first code span read
    whole, fence and all (then by what the user said)."""
    errors = [f"error[E0425]: cannot find value `{name}` in this scope" for name in "xy"]
    learn(tmp_path, [failure(error=errors[0], fix="", said=said)], "s-1")
    learn(tmp_path, [failure(error=errors[1], fix="", said=said)], "s-2")
    warnings = [t.warning for t in read(tmp_path, "testing/pnpm.md").tripwires]
    told = f"; then told: “{said}”" if said else ""
    assert warnings == [f"fails with `` {error} ``{told}" for error in errors]


def test_learning_the_same_lessons_again_changes_nothing(tmp_path: Path) -> None:
    lessons = [failure(), correction("commit without your signature")]
    learn(tmp_path, lessons, "s-1")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.md")}
    assert {outcome for _, outcome in learn(tmp_path, lessons, "s-1")} == {"unchanged"}
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.md")} == before


def test_nothing_worth_keeping_writes_nothing(tmp_path: Path) -> None:
    weak = failure(fix="")
    weak.confidence = 0.3
    assert writer.plan([weak]).empty
    assert learn(tmp_path, [weak], "s-1") == [] and not any(tmp_path.iterdir())


def test_text_is_plain_and_cuts_end_with_an_ellipsis(tmp_path: Path) -> None:
    noisy = failure(error="\x1b[31m\x1b[1mUsage Error\x1b[22m\x1b[39m: " + "x" * 400)
    learn(tmp_path, [noisy], "s-1")
    text = (tmp_path / "testing/pnpm.md").read_text()
    assert "\x1b" not in text and "[31m" not in text and "Usage Error: xxx" in text
    assert "x…`" in text
    assert writer.cut("one two three four", 12) == "one two…"


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        (["app.py: `a = 1` → `a = 2`"], "app.py: `a = 1` → `a = 2`"),
        (  # cut after the last whole change that fits, past the middle, not inside the next
            ["src/app.py: `from dates import format` → `from dates import format, parse`; + `x`"],
            "app.py: `from dates import format` → `from dates import format, parse`; + `x`",
        ),
        (
            [
                "src/app.py: `from dates import format` → `from dates import format, parse`; + `"
                + "x" * 60
                + "`"
            ],
            "app.py: `from dates import format` → `from dates import format, parse`; …",
        ),
        (  # the first change ends before the middle: the next one is shown in part
            ["app.py: `a` → `b`; + `" + "x" * 120 + "`"],
            "app.py: `a` → `b`; + `" + "x" * 96 + "…`",  # 120 characters
        ),
        (  # one change too long for the line: cut, its code span closed
            ["app.py: + `" + "word " * 40 + "`"],
            "app.py: + `" + " ".join(["word"] * 21) + "…`",
        ),
    ],
)
def test_a_change_is_shown_whole_or_cut_with_its_code_span_closed(
    changes: list[str], shown: str
) -> None:
    lesson = writer.render(failure(changes=changes, fix=""))
    assert lesson.tripwire is not None
    assert lesson.tripwire.warning.endswith("fixed by " + shown)
    assert shown.count("`") % 2 == 0


def test_the_plan_stays_within_its_budget() -> None:
    many = [
        correction(f"rule number {i}: never do thing {i} in this repository", n=i)
        for i in range(200)
    ]
    chosen = writer.plan(many)
    size = sum(lesson.size for lessons in chosen.lessons.values() for lesson in lessons)
    assert 0 < size <= writer.BUDGET_CHARS


def test_the_evidence_pack_is_bounded_and_plain() -> None:
    many = [
        failure(n=i, command=f"make target-{i}", error=f"Error: thing {i} failed " + "y" * 300)
        for i in range(500)
    ]
    pack = evidence_pack(many)
    assert len(pack) <= PACK_CHARS + 100 and "less likely candidate(s) left out" in pack
    assert pack.startswith("[1] error_fixed · main · confidence 0.80")
    assert "make target-0" in pack and "{" not in pack


def test_the_prompt_is_bounded_whatever_the_session_size(tmp_path: Path) -> None:
    digest = tmp_path / "digest"
    digest.mkdir()
    for i in range(1, 201):  # a 100 MB session digests into some 90 chunks; take more
        (digest / f"digest-{i:03d}.md").write_text("x")
    events = []
    for i in range(600):
        events.append(
            {
                "n": 3 * i + 1,
                "kind": "call",
                "tool": "Bash",
                "call": i + 1,
                "params": {"command": f"make target-{i} " + "z" * 150},
            }
        )
        events.append(
            {
                "n": 3 * i + 2,
                "kind": "result",
                "tool": "Bash",
                "call": i + 1,
                "is_error": True,
                "text": f"Error: step {i} failed " + "y" * 300,
            }
        )
        events.append(
            {
                "n": 3 * i + 3,
                "kind": "prompt",
                "text": f"no, never run target {i} " + "w" * 2_000,
                "interrupted": True,
            }
        )
    (digest / "events.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    job = EngineJob(digest, tmp_path, tmp_path, ["s-1"], None, "", "2026-01-02")
    prompt = build_prompt(job)
    assert "digest-001.md" in prompt and "digest-200.md" in prompt and "digest-100.md" not in prompt
    assert len(prompt) < 4 * (FIRST_REQUEST_TOKENS - 10_000)  # what the CLI adds: ~10k tokens
