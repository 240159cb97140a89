"""The offline engine: useful lessons from a real session, nothing from an uneventful one."""

from __future__ import annotations

from pathlib import Path

from learn import learned_docs as docs
from learn.digest import Event, build_digest, load_events
from learn.engines import EngineJob
from learn.engines.offline import OfflineEngine, extract, signature
from learn.transcripts.files import discover
from tests.support.repos import EXAMPLES


def job_for(example: Path, tmp_path: Path, issue: int | None = None) -> EngineJob:
    result = build_digest(discover([example]), tmp_path / "digest")
    (tmp_path / "wt").mkdir(exist_ok=True)
    return EngineJob(
        digest_dir=tmp_path / "digest",
        worktree=tmp_path / "wt",
        run_dir=tmp_path,
        sessions=result.sessions,
        issue=issue,
        title="",
        today="2026-01-02",
    )


def test_real_session_yields_fixes_correction_and_verification(tmp_path: Path) -> None:
    job = job_for(EXAMPLES / "fix-failing-test.jsonl", tmp_path)
    lessons = extract(load_events(job.digest_dir))
    failed = {f.failed for f in lessons.fixes}
    assert "python -m pytest -q" in failed and "Edit textkit/core.py" in failed
    pytest_fix = next(f for f in lessons.fixes if f.failed == "python -m pytest -q")
    assert "ImportError: cannot import name 'slugify'" in pytest_fix.error
    assert "Edit textkit/core.py" in pytest_fix.fixed_by  # the change made before it passed
    assert pytest_fix.why  # the assistant's diagnosis
    assert len(lessons.corrections) == 1
    assert "str.translate" in lessons.corrections[0].said
    assert lessons.corrections[0].changed == ["textkit/core.py"]
    assert lessons.verified == ["python -m pytest -q"]
    assert lessons.files == ["textkit/core.py"]


def test_engine_writes_a_valid_doc_and_is_stable(tmp_path: Path) -> None:
    job = job_for(EXAMPLES / "fix-failing-test.jsonl", tmp_path, issue=42)
    first = OfflineEngine().run(job)
    assert len(first.written) == 1 and first.written[0].startswith(
        "docs/learned/sessions/issue-42-"
    )
    path = job.worktree / first.written[0]
    doc = docs.parse(path.read_text(), path=path)
    assert doc.issue == 42 and doc.sessions == job.sessions
    assert any("pytest" in t.action for t in doc.tripwires)
    assert any("str.translate" in t.warning for t in doc.tripwires)
    assert (
        "## Errors and what fixed them" in doc.body and "## Corrections from the user" in doc.body
    )
    assert "ghp_" not in path.read_text()
    before = path.read_bytes()
    again = OfflineEngine().run(job)  # re-learning the same session changes nothing
    assert again.written == [] and path.read_bytes() == before
    assert docs.validate_tree(job.docs_root) == []


def test_nothing_to_learn(tmp_path: Path) -> None:
    job = job_for(EXAMPLES / "nothing-to-learn.jsonl", tmp_path)
    result = OfflineEngine().run(job)
    assert result.written == [] and "nothing to learn" in result.summary
    assert not job.docs_root.exists()


def call(tool: str, **params: str) -> Event:
    return Event(1, "call", tool=tool, params=params)


def test_signature_groups_test_runners_and_files() -> None:
    assert signature(call("Bash", command="pytest -x")) == signature(
        call("Bash", command="python -m pytest")
    )
    assert signature(call("Bash", command="FOO=1 npm install")) == ("shell", "npm")
    assert signature(call("Edit", file_path="a.py")) == signature(call("Write", file_path="a.py"))
    assert signature(call("Edit", file_path="a.py")) != signature(call("Edit", file_path="b.py"))


def test_interrupt_followed_by_new_instruction_is_a_correction() -> None:
    events = [
        Event(1, "prompt", text="refactor the parser"),
        Event(2, "call", tool="Bash", call=1, params={"command": "rm -rf build"}),
        Event(3, "result", tool="Bash", call=1, text="ok"),
        Event(4, "interrupt"),
        Event(5, "prompt", text="keep the build folder, it holds fixtures", interrupted=True),
    ]
    lessons = extract(events)
    assert [c.said for c in lessons.corrections] == ["keep the build folder, it holds fixtures"]
    assert lessons.corrections[0].after == "rm -rf build"
