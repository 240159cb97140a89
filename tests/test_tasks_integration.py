"""The tasks as separate processes on a real clone with a bare remote, as CI runs them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from learn import learned_docs as docs
from learn.transcripts.files import encode_project_dir
from tests.support.processes import Done
from tests.support.repos import EXAMPLES, Repo

FIX = str(EXAMPLES / "fix-failing-test.jsonl")
NOTHING = str(EXAMPLES / "nothing-to-learn.jsonl")
Invoke = Callable[..., Done]


def only_branch(repo: Repo) -> str:
    learn = [b for b in repo.branches() if b.startswith("learn-")]
    assert len(learn) == 1, learn
    return learn[0]


def test_learn_end_to_end_and_again(repo: Repo, invoke: Invoke) -> None:
    (repo.path / "app.py").write_text("print('work in progress')\n")  # a person's dirty tree
    done = invoke("learn", "--session", FIX, "--repo", str(repo.path))
    assert done.code == 0, done.text
    assert "engine: offline engine (auto: no `claude` CLI on PATH)" in done.out
    branch = only_branch(repo)
    assert branch.startswith("learn-local-")
    assert repo.git("status", "--porcelain") == " M app.py\n"  # untouched; .learn/ is ignored
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD").strip() == "trunk"
    files = repo.git("diff", "--name-only", f"trunk...{branch}").split()
    assert files and all(f.startswith("docs/learned/") for f in files)
    assert "docs/learned/index.md" not in files  # rebuilt on the trunk by refresh
    assert not any(f.startswith("docs/learned/sessions/") for f in files)  # topic docs
    doc_path = files[0]
    doc = docs.parse(repo.git("show", f"{branch}:{doc_path}"), path=Path(doc_path))
    assert doc.tripwires and doc.read_when
    author = repo.git("log", "-1", "--format=%an <%ae>", branch).strip()
    assert author == "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"

    again = invoke("learn", "--session", FIX, "--repo", str(repo.path))
    assert again.code == 0, again.text
    assert "already up to date" in again.out
    assert only_branch(repo) == branch
    assert repo.git("diff", "--name-only", f"trunk...{branch}").split() == files  # no duplicate


def test_tasks_one_process_each_then_push(repo: Repo, invoke: Invoke) -> None:
    args = ("--session", FIX, "--repo", str(repo.path))
    for task in ("checkout-branch", "run-learn"):
        done = invoke(task, *args)
        assert done.code == 0, done.text
    dry = invoke("publish", *args, "--dry-run")
    assert dry.code == 0 and "+++ b/docs/learned/" in dry.out and "dry run" in dry.out
    assert "docs/learned/index.md" not in dry.out
    branch = only_branch(repo)
    assert repo.git("rev-parse", branch) == repo.git("rev-parse", "trunk")  # nothing committed
    done = invoke("publish", *args, "--push")
    assert done.code == 0, done.text
    assert branch in repo.remote_branches()


def test_nothing_to_learn_exits_zero_and_leaves_no_branch(repo: Repo, invoke: Invoke) -> None:
    done = invoke("learn", "--session", NOTHING, "--repo", str(repo.path))
    assert done.code == 0, done.text
    assert "nothing to learn" in done.out
    assert not [b for b in repo.branches() if b.startswith("learn-")]


def test_empty_transcript_is_nothing_to_learn(repo: Repo, invoke: Invoke, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    done = invoke("learn", "--session", str(empty), "--repo", str(repo.path))
    assert done.code == 0, done.text
    assert "nothing to learn" in done.out


def assert_clean_failure(done: Done, code: int, message: str) -> None:
    assert done.code == code, done.text
    assert message in done.text
    assert "Traceback" not in done.text


def test_bad_input_gets_one_clear_line(repo: Repo, invoke: Invoke, tmp_path: Path) -> None:
    missing = invoke("learn", "--session", str(tmp_path / "nope.jsonl"), "--repo", str(repo.path))
    assert_clean_failure(missing, 2, "session path not found")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(bytes(range(256)) * 40)
    done = invoke("learn", "--session", str(binary), "--repo", str(repo.path))
    assert_clean_failure(done, 1, "is a JSON transcript entry")
    not_repo = tmp_path / "plain"
    not_repo.mkdir()
    done = invoke("learn", "--session", FIX, "--repo", str(not_repo))
    assert_clean_failure(done, 2, "is not inside a git repository")
    done = invoke("run-learn", "--session", NOTHING, "--repo", str(repo.path))
    assert_clean_failure(done, 2, "run `invoke checkout-branch`")
    done = invoke("learn", "--session", FIX, "--repo", str(repo.path), env={"LEARN_ENGINE": "gpt"})
    assert_clean_failure(done, 2, "unknown engine 'gpt'")


def test_digest_task(invoke: Invoke, tmp_path: Path) -> None:
    done = invoke("digest", f"{FIX},{NOTHING}", "--out", str(tmp_path / "d"))
    assert done.code == 0, done.text
    assert done.out.startswith("digest: 2 file(s), ")
    assert (tmp_path / "d" / "digest-001.md").is_file()


def test_session_latest_is_the_newest_local_session_of_the_repo(
    repo: Repo, invoke: Invoke, tmp_path: Path
) -> None:
    config = tmp_path / "claude-config"
    project = config / "projects" / encode_project_dir(repo.path.resolve())[0]
    project.mkdir(parents=True)
    (project / "older.jsonl").write_bytes((EXAMPLES / "nothing-to-learn.jsonl").read_bytes())
    newest = project / "newest.jsonl"
    newest.write_bytes((EXAMPLES / "fix-failing-test.jsonl").read_bytes())
    os.utime(project / "older.jsonl", (1, 1))
    env = {"CLAUDE_CONFIG_DIR": str(config)}
    done = invoke("learn", "--session", "latest", "--repo", str(repo.path), env=env)
    assert done.code == 0, done.text
    assert "newest.jsonl" in done.out
    assert only_branch(repo).startswith("learn-local-")


def test_session_latest_without_local_sessions_is_a_clear_error(
    repo: Repo, invoke: Invoke, tmp_path: Path
) -> None:
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "empty")}
    done = invoke("learn", "--session", "latest", "--repo", str(repo.path), env=env)
    assert done.code == 1 and "no local Claude Code session for" in done.err
    assert "Traceback" not in done.text
