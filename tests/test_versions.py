"""Transcripts shaped like Claude Code 1.0.x, 2.0.x and 2.1.x go through the whole `learn` task
(as a process) without a traceback; empty and summary-only sessions end in "nothing to learn"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.processes import Done
from tests.support.repos import Repo
from tests.support.transcripts import write_jsonl

SID = "0b6c3c2e-1111-4222-8333-444455556666"


def base(kind: str, uuid: str, version: str, **extra: object) -> dict[str, object]:
    return {
        "type": kind,
        "uuid": uuid,
        "parentUuid": None,
        "sessionId": SID,
        "version": version,
        "cwd": "/home/dev/app",
        "gitBranch": "main",
        "timestamp": "2025-06-01T10:00:00Z",
        **extra,
    }


def turn(version: str, n: int, *, sidechain: bool = False) -> list[dict[str, object]]:
    """A failing test run, a fix, a passing run: enough for the offline engine to learn from."""
    extra = {"isSidechain": sidechain}

    def call(i: int, cmd: str) -> dict[str, object]:
        block = {"type": "tool_use", "id": f"t{n}{i}", "name": "Bash", "input": {"command": cmd}}
        msg = {
            "id": f"msg_{n}{i}",
            "role": "assistant",
            "model": "claude-sonnet-4",
            "content": [block],
        }
        return base("assistant", f"a{n}{i}", version, message=msg, **extra)

    def result(i: int, text: str, err: bool) -> dict[str, object]:
        block = {"type": "tool_result", "tool_use_id": f"t{n}{i}", "content": text, "is_error": err}
        return base(
            "user", f"r{n}{i}", version, message={"role": "user", "content": [block]}, **extra
        )

    edit = base(
        "assistant",
        f"e{n}",
        version,
        message={
            "id": f"msg_e{n}",
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": f"te{n}",
                    "name": "Edit",
                    "input": {
                        "file_path": "/home/dev/app/app.py",
                        "old_string": "a",
                        "new_string": "b",
                    },
                }
            ],
        },
        **extra,
    )
    edited = base(
        "user",
        f"re{n}",
        version,
        message={
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": f"te{n}", "content": "updated"}],
        },
        **extra,
    )
    return [
        base(
            "user",
            f"u{n}",
            version,
            message={"role": "user", "content": "make the tests pass"},
            **extra,
        ),
        call(1, "pytest -q"),
        result(1, "E   ImportError: no module named app", True),
        edit,
        edited,
        call(2, "pytest -q"),
        result(2, "3 passed", False),
    ]


def v1_0(tmp: Path) -> Path:
    lines = turn("1.0.11", 1) + turn("1.0.11", 2, sidechain=True)
    lines.append({"type": "summary", "summary": "Fix tests", "leafUuid": "u1"})
    return write_jsonl(tmp / f"{SID}.jsonl", lines)


def v2_0(tmp: Path) -> Path:
    main = write_jsonl(
        tmp / f"{SID}.jsonl",
        [
            *turn("2.0.74", 1),
            base(
                "file-history-snapshot", "f1", "2.0.74", snapshot={"app.py": "API_KEY=abc123secret"}
            ),
            base("queue-operation", "q1", "2.0.74", operation="dequeue"),
        ],
    )
    write_jsonl(
        tmp / "agent-1a2b3c.jsonl",
        [
            base(
                "user",
                "w1",
                "2.0.74",
                isSidechain=True,
                message={"role": "user", "content": "Warmup"},
            )
        ],
    )
    write_jsonl(tmp / "agent-4d5e6f.jsonl", turn("2.0.74", 2, sidechain=True))
    return main


def v2_1(tmp: Path) -> Path:
    lines = turn("2.1.90", 1)
    lines.insert(
        1,
        base(
            "assistant",
            "th",
            "2.1.90",
            message={
                "id": "msg_th",
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "", "signature": "x" * 200}],
            },
        ),
    )
    lines += [
        base("progress", f"p{i}", "2.1.90", data={"type": "hook_progress"}) for i in range(50)
    ]
    lines += [
        base("attachment", "at", "2.1.90", attachment={"type": "reminder"}),
        base(
            "system",
            "cb",
            "2.1.90",
            subtype="compact_boundary",
            compactMetadata={"trigger": "auto", "preTokens": 150000},
        ),
        base(
            "user",
            "cs",
            "2.1.90",
            isCompactSummary=True,
            message={"role": "user", "content": "Summary: fixed the tests"},
        ),
        base(
            "user",
            "img",
            "2.1.90",
            message={
                "role": "user",
                "content": [
                    {"type": "text", "text": "here is a screenshot"},
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": "iVBOR" * 40000,
                        },
                    },
                ],
            },
        ),
    ]
    main = write_jsonl(tmp / f"{SID}.jsonl", lines)
    sub = write_jsonl(tmp / SID / "subagents" / "agent-a1.jsonl", turn("2.1.90", 2, sidechain=True))
    sub.with_name("agent-a1.meta.json").write_text(
        '{"agentType": "Explore", "description": "look around"}'
    )
    return main


def windows(tmp: Path) -> Path:
    lines = turn("2.1.12", 1)
    for line in lines:
        line["cwd"] = "C:\\Users\\dev\\app"
    return write_jsonl(tmp / f"{SID}.jsonl", lines)


def truncated(tmp: Path) -> Path:
    path = v1_0(tmp)
    raw = path.read_bytes()
    path.write_bytes(raw[:-40])
    return path


LEARNABLE = {
    "1.0.x": v1_0,
    "2.0.x": v2_0,
    "2.1.x": v2_1,
    "windows": windows,
    "truncated": truncated,
}


@pytest.mark.parametrize("shape", sorted(LEARNABLE))
def test_each_version_learns_without_a_traceback(
    shape: str, repo: Repo, invoke: Callable[..., Done], tmp_path: Path
) -> None:
    folder = tmp_path / "sessions"
    folder.mkdir()
    session = LEARNABLE[shape](folder)
    done = invoke("learn", "--session", str(session), "--repo", str(repo.path))
    assert done.code == 0, done.text
    assert "Traceback" not in done.text
    branch = next(b for b in repo.branches() if b.startswith("learn-"))
    files = repo.git("diff", "--name-only", f"trunk...{branch}").split()
    assert [f for f in files if f != "docs/learned/index.md"], done.text
    assert not any(f.startswith("docs/learned/sessions/") for f in files)
    committed = "".join(repo.git("show", f"{branch}:{f}") for f in files)
    assert "abc123secret" not in committed and "iVBOR" not in committed


@pytest.mark.parametrize(
    "content", [b"", b'{"type":"summary","summary":"Invalid API key","leafUuid":"x"}\n' * 300]
)
def test_empty_and_summary_only_are_nothing_to_learn(
    content: bytes, repo: Repo, invoke: Callable[..., Done], tmp_path: Path
) -> None:
    session = tmp_path / f"{SID}.jsonl"
    session.write_bytes(content)
    done = invoke("learn", "--session", str(session), "--repo", str(repo.path))
    assert done.code == 0, done.text
    assert "nothing to learn" in done.out and "Traceback" not in done.text
    assert not [b for b in repo.branches() if b.startswith("learn-")]
