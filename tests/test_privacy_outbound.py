"""The outbound check: PR and commit text, comments, summaries, step outputs, logs and learned
docs never carry a secret or personal data; a finding that survives fails the run by file and
line, and nothing is committed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from learn import learned_docs, steps
from learn.ci import actions
from learn.console import Output
from learn.errors import DocError
from learn.privacy import outbound
from learn.settings import Settings
from learn.steps import messages
from tests.fakes.git import FakeGit
from tests.fakes.secret_scanner import FakeScanner
from tests.support.repos import EXAMPLES

TOKEN = "gh" + "p_" + "Zq9Xw2" * 6
EMAIL = "alice.smith" + "@" + "corp-mail.net"
HOME = "/home/" + "alicesmith" + "/src/app"


def _clean_of_it(text: str) -> bool:
    return TOKEN[4:14] not in text and EMAIL not in text and "alicesmith" not in text


def test_pr_commit_and_comment_text_is_clean() -> None:
    title = f"Fix deploy: {TOKEN} leaked, ask {EMAIL} ({HOME})"
    assert _clean_of_it(messages.pr_title(12, title))
    assert _clean_of_it(messages.commit_message(12, title, ["abc"], 1, "offline"))
    assert _clean_of_it(messages.no_session_comment(12, "r1", f"artifact of {TOKEN} gone"))
    body = messages.pr_body(12, "offline", [f"docs/learned/{EMAIL}.md"], "", "12", "r1")
    assert _clean_of_it(body) and "<!-- learn-async:12:r1 -->" in body


def test_step_outputs_summaries_and_logs_are_clean(tmp_path: Path) -> None:
    env = {"GITHUB_OUTPUT": str(tmp_path / "o"), "GITHUB_STEP_SUMMARY": str(tmp_path / "s")}
    actions.write_outputs({"branch": f"x {TOKEN}"}, env)
    actions.write_summary(f"### {EMAIL} in {HOME}", env)
    assert _clean_of_it((tmp_path / "o").read_text() + (tmp_path / "s").read_text())
    for in_actions in (True, False):
        buf = io.StringIO()
        out = Output(buf, actions=in_actions)
        out.info(f"token {TOKEN}")
        out.ok(f"mail {EMAIL}")
        out.warn(f"home {HOME}")
        out.error(f"GITHUB_TOKEN={TOKEN}")
        assert _clean_of_it(buf.getvalue()) and buf.getvalue().count("[REDACTED:") >= 2


def test_team_domain_is_kept_when_allowed() -> None:
    text = f"ask bob@acme.io or {EMAIL}"
    assert outbound.clean(text, ("acme.io",)) == "ask bob@acme.io or [REDACTED:email]"


def _doc(body: str) -> str:
    doc = learned_docs.LearnedDoc("ops", "deploy", "Deploying", ["deploying the app"], body)
    return learned_docs.render(doc)


def _learn(tmp_path: Path) -> tuple[steps.Target, FakeGit, Output, steps.RunState]:
    buf = io.StringIO()
    target = steps.Target(tmp_path, sessions=(EXAMPLES / "fix-failing-test.jsonl",))
    git, out = FakeGit(tmp_path), Output(buf, actions=False)
    steps.checkout_branch(target, steps.Deps(Settings(), out, git, env={}))
    run = steps.run_learn(target, steps.Deps(Settings(engine="offline"), out, git, env={}))
    return target, git, out, run


def test_a_doc_written_by_an_engine_is_cleaned_before_it_is_committed(tmp_path: Path) -> None:
    target, git, out, run = _learn(tmp_path)
    doc = run.worktree / "docs/learned/ops/deploy.md"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(
        _doc(f"# Deploying\n\nRun `GITHUB_TOKEN={TOKEN} make` in {HOME}; ask {EMAIL}.\n")
    )
    deps = steps.Deps(Settings(), out, git, env={})
    steps.publish(target, deps, dry_run=True)  # validates (and cleans), commits nothing
    text = doc.read_text()
    assert _clean_of_it(text) and "[REDACTED:github-token]" in text and "~/src/app" in text
    assert not (run.worktree / "docs/learned/index.md").exists()  # refresh builds it on the trunk
    steps.publish(target, deps)
    assert any(name == "commit" for name, _ in git.calls)


def test_a_finding_left_after_redaction_fails_by_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, git, out, run = _learn(tmp_path)
    doc = run.worktree / "docs/learned/ops/deploy.md"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(_doc("# Deploying\n\nThe launch-code is on the wiki.\n"))
    line = doc.read_text().splitlines().index("The launch-code is on the wiki.") + 1
    monkeypatch.setattr(outbound, "scanner", lambda: FakeScanner("launch-code"))
    with pytest.raises(DocError) as caught:
        steps.publish(target, steps.Deps(Settings(), out, git, env={}))
    message = str(caught.value)
    assert f"ops/deploy.md: line {line}: still contains a secret (fake-rule)" in message
    assert "unmaskable" not in message and "nothing was committed" in message
    assert not any(name == "commit" for name, _ in git.calls)


def test_check_docs_names_the_line_never_the_value(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(f"one\ntwo {TOKEN}\nthree {EMAIL}\n")
    with pytest.raises(DocError) as caught:
        outbound.check_docs(tmp_path, ["a.md"], ())
    assert "a.md: line 2: still contains a secret (github-token)" in str(caught.value)
    assert "(+1 more)" in str(caught.value) and TOKEN not in str(caught.value)
