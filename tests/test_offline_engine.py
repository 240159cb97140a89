"""The offline engine: topic docs from a real session, merged and stable; nothing from an
uneventful one."""

from __future__ import annotations

from pathlib import Path

from learn import learned_docs as docs
from learn.digest import build_digest
from learn.engines import EngineJob
from learn.engines.offline import OfflineEngine
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


def test_real_session_yields_topic_docs_that_are_stable(tmp_path: Path) -> None:
    job = job_for(EXAMPLES / "fix-failing-test.jsonl", tmp_path, issue=42)
    first = OfflineEngine().run(job)
    assert first.written and all(not p.startswith("docs/learned/sessions/") for p in first.written)
    texts = {p: (job.worktree / p).read_text() for p in first.written}
    joined = " ".join(" ".join(texts.values()).split())  # YAML folds long lines
    assert "ImportError: cannot import name 'slugify'" in joined  # the error, verbatim
    assert "python -m pytest -q" in joined  # the check that passed
    assert "str.translate" in joined  # the user's correction, in their words
    assert "ghp_" not in joined and "\x1b" not in joined
    for path in first.written:
        doc = docs.parse(texts[path], path=Path(path).relative_to("docs/learned"))
        assert doc.issue == 42 and doc.sessions == job.sessions
        assert "Lessons from" not in doc.title
    assert docs.validate_tree(job.docs_root) == []
    again = OfflineEngine().run(job)  # re-learning the same session changes nothing
    assert again.written == []
    assert {p: (job.worktree / p).read_text() for p in first.written} == texts


def test_nothing_to_learn(tmp_path: Path) -> None:
    job = job_for(EXAMPLES / "nothing-to-learn.jsonl", tmp_path)
    result = OfflineEngine().run(job)
    assert result.written == [] and "nothing to learn" in result.summary
    assert not job.docs_root.exists()
