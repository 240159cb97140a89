"""The scripted Messages-API fake, on its own and driving the real Claude Code CLI.

Tests marked ``claude`` install ``@anthropic-ai/claude-code`` with npm into
``$LEARN_TEST_CACHE`` (default ``.nox/.cache/claude-code``) and skip, saying why, without it.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic_api import (
    Fail,
    FakeAnthropic,
    Reply,
    ScriptError,
    Slow,
    Text,
    Thinking,
    ToolUse,
)
from tests.fakes.claude_cli import (
    claude_env,
    find_transcript,
    project_dir,
)

# ------------------------------------------------------------------------------------------
# Plain HTTP against the fake
# ------------------------------------------------------------------------------------------

MAIN_SYSTEM = [
    {"type": "text", "text": "You are Claude Code."},
    {"type": "text", "text": "# Environment\n - Primary working directory: /home/dev/proj\n"},
]


def _post(api: FakeAnthropic, path: str, body: dict[str, Any]) -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(
        api.base_url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": "sk-ant-secret-header"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def _sse(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in data.decode().split("\n\n"):
        if not chunk.strip():
            continue
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def _assemble(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Rebuild the message from its events, as an SDK would."""
    msg: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for name, ev in events:
        assert ev["type"] == name
        if name == "message_start":
            msg = ev["message"]
        elif name == "content_block_start":
            msg["content"].append(ev["content_block"])
        elif name == "content_block_delta":
            block, d = msg["content"][ev["index"]], ev["delta"]
            if d["type"] == "text_delta":
                block["text"] += d["text"]
            elif d["type"] == "input_json_delta":
                partial[ev["index"]] = partial.get(ev["index"], "") + d["partial_json"]
            elif d["type"] == "thinking_delta":
                block["thinking"] += d["thinking"]
            elif d["type"] == "signature_delta":
                block["signature"] = d["signature"]
        elif name == "content_block_stop" and ev["index"] in partial:
            msg["content"][ev["index"]]["input"] = json.loads(partial[ev["index"]])
        elif name == "message_delta":
            msg["stop_reason"] = ev["delta"]["stop_reason"]
            msg["usage"].update(ev["usage"])
    return msg


def _main_body(messages: list[dict[str, Any]] | None = None, stream: bool = True) -> dict[str, Any]:
    return {
        "model": "claude-opus-4-8",
        "max_tokens": 64000,
        "stream": stream,
        "system": MAIN_SYSTEM,
        "tools": [{"name": "Write", "input_schema": {"type": "object"}}],
        "messages": messages or [{"role": "user", "content": "hi"}],
    }


def test_streams_messages_api_events_for_text_and_tool_use() -> None:
    script = [
        Reply(
            Thinking("plan"),
            Text("Writing it."),
            ToolUse(
                "Write", lambda ctx: {"file_path": ctx.path("docs/x.md"), "content": "é" * 100}
            ),
        ),
        Text("All done."),
    ]
    with FakeAnthropic(script, chunk_size=7) as api:
        status, data, headers = _post(api, "/v1/messages?beta=true", _main_body())
        assert status == 200
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["request-id"].startswith("req_")
        events = _sse(data)
        names = [n for n, _ in events]
        assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
        assert names.count("content_block_start") == names.count("content_block_stop") == 3
        msg = _assemble(events)
        assert msg["stop_reason"] == "tool_use"
        thinking, text, tool = msg["content"]
        assert thinking["thinking"] == "plan" and thinking["signature"]
        assert text == {"type": "text", "text": "Writing it."}
        assert tool["name"] == "Write" and tool["id"].startswith("toolu_")
        assert tool["input"] == {"file_path": "/home/dev/proj/docs/x.md", "content": "é" * 100}

        status, data, _ = _post(api, "/v1/messages", _main_body(stream=False))
        plain = json.loads(data)
        assert plain["content"] == [{"type": "text", "text": "All done."}]
        assert plain["stop_reason"] == "end_turn" and plain["usage"]["input_tokens"] > 0

        # script exhausted: a final text turn
        status, data, _ = _post(api, "/v1/messages", _main_body(stream=False))
        assert json.loads(data)["content"][0]["text"] == "Done."
    assert [r.turn for r in api.main_requests] == [0, 1, None]
    assert api.main_requests[0].query == {"beta": ["true"]}
    assert api.main_requests[0].cwd == "/home/dev/proj"


def test_side_requests_get_trivial_replies_and_do_not_consume_the_script() -> None:
    title = {
        "model": "claude-haiku-4-5",
        "max_tokens": 32000,
        "stream": True,
        "tools": [],
        "system": [{"type": "text", "text": "Generate a concise, sentence-case title"}],
        "messages": [{"role": "user", "content": "<session>fix it</session>"}],
        "output_config": {
            "format": {
                "type": "json_schema",
                "schema": {
                    "type": "object",
                    "properties": {"title": {"type": "string"}},
                    "required": ["title"],
                },
            }
        },
    }
    quota = {
        "model": "claude-haiku-4-5",
        "max_tokens": 1,
        "stream": False,
        "messages": [{"role": "user", "content": "quota"}],
    }
    with FakeAnthropic([Text("scripted")]) as api:
        _, data, _ = _post(api, "/v1/messages?beta=true", title)
        assert json.loads(_assemble(_sse(data))["content"][0]["text"]) == {
            "title": "Scripted session"
        }
        _, data, _ = _post(api, "/v1/messages", quota)
        assert json.loads(data)["content"][0]["text"] == "OK"
        _, data, _ = _post(api, "/v1/messages", _main_body(stream=False))
        assert json.loads(data)["content"][0]["text"] == "scripted"
    assert [r.kind for r in api.requests] == ["side", "side", "main"]
    assert api.remaining == 0


def test_other_routes_count_tokens_and_request_log() -> None:
    with FakeAnthropic() as api:
        status, data, _ = _post(api, "/v1/messages/count_tokens", _main_body())
        assert status == 200 and json.loads(data)["input_tokens"] > 10
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(api.base_url + "/api/unknown", timeout=5)
        assert e.value.code == 404
        assert json.loads(e.value.read())["type"] == "error"
        req = urllib.request.Request(api.base_url + "/", method="HEAD")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
        body = _main_body(
            [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_1",
                            "is_error": True,
                            "content": [{"type": "text", "text": "TOOL-OUTPUT-MARKER"}],
                        }
                    ],
                },
            ]
        )
        _post(api, "/v1/messages", body)
    kinds = [(r.method, r.path, r.kind) for r in api.requests]
    assert kinds == [
        ("POST", "/v1/messages/count_tokens", "other"),
        ("GET", "/api/unknown", "other"),
        ("HEAD", "/", "other"),
        ("POST", "/v1/messages", "main"),
    ]
    main = api.main_requests[0]
    assert main.size_bytes == len(json.dumps(body).encode())
    assert main.approx_tokens == (main.size_bytes + 3) // 4
    assert main.tool_results()[0].content == "TOOL-OUTPUT-MARKER"
    assert main.tool_results()[0].is_error
    sent = api.all_text_sent()
    assert "TOOL-OUTPUT-MARKER" in sent and "Primary working directory" in sent
    assert "sk-ant-secret-header" not in json.dumps([r.headers for r in api.requests])


def test_fail_repeats_then_script_continues() -> None:
    with FakeAnthropic([Fail(529, times=2), Fail(500, body="boom"), Text("ok")]) as api:
        codes = []
        for _ in range(4):
            status, data, _ = _post(api, "/v1/messages", _main_body(stream=False))
            codes.append((status, json.loads(data).get("error", {}).get("type")))
    assert codes == [
        (529, "overloaded_error"),
        (529, "overloaded_error"),
        (500, "api_error"),
        (200, None),
    ]
    assert [r.status for r in api.main_requests] == [529, 529, 500, 200]


def test_slow_delays_and_script_errors_surface() -> None:
    with FakeAnthropic([Slow(0.3, then=Text("late"))]) as api:
        t0 = time.monotonic()
        _post(api, "/v1/messages", _main_body(stream=False))
        assert time.monotonic() - t0 >= 0.3

    def broken(ctx: Any) -> dict[str, Any]:
        raise KeyError("nope")

    api = FakeAnthropic([ToolUse("Write", broken)])
    with pytest.raises(ScriptError, match="nope"), api:
        status, data, _ = _post(api, "/v1/messages", _main_body(stream=False))
        assert status == 400 and "script error" in data.decode()


def test_concurrent_main_requests_consume_each_turn_once() -> None:
    n = 20
    with FakeAnthropic([Text(f"t{i}") for i in range(n)]) as api:
        out: list[str] = []

        def call() -> None:
            _, data, _ = _post(api, "/v1/messages", _main_body(stream=False))
            out.append(json.loads(data)["content"][0]["text"])

        threads = [threading.Thread(target=call) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(out) == sorted(f"t{i}" for i in range(n))


# ------------------------------------------------------------------------------------------
# The real CLI
# ------------------------------------------------------------------------------------------

LEARN_ALLOWED = "Read,Glob,Grep,Write(docs/learned/**),Edit(docs/learned/**)"
LEARN_FLAGS = [
    "--permission-mode",
    "dontAsk",
    "--tools",
    "Read,Write,Edit,Glob,Grep",
    "--allowedTools",
    LEARN_ALLOWED,
]


@dataclass
class CliRun:
    returncode: int
    lines: list[dict[str, Any]]
    stderr: str
    duration: float

    @property
    def result(self) -> dict[str, Any]:
        results = [x for x in self.lines if x.get("type") == "result"]
        assert results, f"no result line (rc={self.returncode}): {self.stderr[-2000:]}"
        return results[-1]


def run_claude(
    claude: Path, cwd: Path, env: dict[str, str], prompt: str, *flags: str, timeout: float = 120
) -> CliRun:
    # the prompt goes right after -p: --allowedTools is variadic and would swallow it
    cmd = [str(claude), "-p", prompt, "--output-format", "stream-json", "--verbose", *flags]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    return CliRun(proc.returncode, lines, proc.stderr, time.monotonic() - t0)


@pytest.fixture
def cli_repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    (r / "docs").mkdir(parents=True)
    (r / "README.md").write_text("# Project\n")
    (r / "notes.txt").write_text("SECRET-IN-UNREAD-FILE\n")
    subprocess.run(["git", "init", "-q"], cwd=r, check=True)
    return r


@pytest.mark.claude
def test_cli_scripted_write_creates_learned_doc(
    claude_bin: Path, cli_repo: Path, tmp_path: Path
) -> None:
    content = "# Learned\n\nRun the tests with `python -m pytest -q`.\n"
    script = [
        Reply(
            Text("Recording what I learned."),
            ToolUse(
                "Write", lambda c: {"file_path": c.path("docs/learned/x.md"), "content": content}
            ),
        ),
        Text("Wrote docs/learned/x.md."),
    ]
    with FakeAnthropic(script) as api:
        env = claude_env(api.base_url, tmp_path / "home")
        run = run_claude(claude_bin, cli_repo, env, "Write what you learned.", *LEARN_FLAGS)
    assert run.returncode == 0, run.stderr
    assert (cli_repo / "docs/learned/x.md").read_text() == content
    res = run.result
    assert res["subtype"] == "success" and not res["is_error"]
    assert res["permission_denials"] == [] and res["result"] == "Wrote docs/learned/x.md."
    # the main loop offered exactly the restricted tools; the Write's result came back
    assert [r.kind for r in api.requests if r.method == "POST"] == ["main", "main"]
    first, second = api.main_requests
    assert sorted(first.tool_names) == ["Edit", "Glob", "Grep", "Read", "Write"]
    assert Path(first.cwd or "").resolve() == cli_repo.resolve()
    [tr] = second.tool_results()
    assert not tr.is_error and "docs/learned/x.md" in tr.content
    # the model never saw a file it did not read, nor the API key
    sent = api.all_text_sent()
    assert "SECRET-IN-UNREAD-FILE" not in sent and env["ANTHROPIC_API_KEY"] not in sent
    # and the CLI wrote its own transcript under the temp HOME
    transcript = find_transcript(tmp_path / "home" / ".claude", res["session_id"])
    assert transcript is not None
    assert transcript.parent == project_dir(tmp_path / "home" / ".claude", cli_repo.resolve())
    types = {json.loads(x)["type"] for x in transcript.read_text().splitlines()}
    assert {"user", "assistant"} <= types


@pytest.mark.claude
def test_cli_write_outside_docs_learned_is_denied(
    claude_bin: Path, cli_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.md"
    script = [
        # Write refuses files not Read first, before permissions are even checked
        ToolUse("Read", lambda c: {"file_path": c.path("README.md")}),
        Reply(
            ToolUse("Write", lambda c: {"file_path": c.path("README.md"), "content": "pwned\n"}),
            ToolUse("Write", {"file_path": str(outside), "content": "pwned\n"}),
        ),
        Text("Could not write."),
    ]
    with FakeAnthropic(script) as api:
        env = claude_env(api.base_url, tmp_path / "home")
        run = run_claude(claude_bin, cli_repo, env, "Update the README.", *LEARN_FLAGS)
    assert run.returncode == 0, run.stderr
    res = run.result
    # a denial does not fail the run: it is only visible in permission_denials
    assert res["subtype"] == "success" and not res["is_error"]
    denied = {
        (d["tool_name"], Path(d["tool_input"]["file_path"]).name) for d in res["permission_denials"]
    }
    assert denied == {("Write", "README.md"), ("Write", "outside.md")}
    assert (cli_repo / "README.md").read_text() == "# Project\n"
    assert not outside.exists()
    results = api.main_requests[2].tool_results()
    assert len(results) == 2 and all(r.is_error for r in results)


@pytest.mark.claude
def test_cli_api_500_ends_run_with_error_result(
    claude_bin: Path, cli_repo: Path, tmp_path: Path
) -> None:
    with FakeAnthropic([Fail(500, body="scripted outage")]) as api:
        env = claude_env(api.base_url, tmp_path / "home", CLAUDE_CODE_MAX_RETRIES="0")
        run = run_claude(claude_bin, cli_repo, env, "hi")
    # exit 1; the result line says subtype "success" but is_error with the HTTP status
    assert run.returncode == 1
    res = run.result
    assert res["is_error"] is True and res["api_error_status"] == 500
    assert "scripted outage" in res["result"]
    assert len(api.main_requests) == 1  # no retry
    # the CLI records a synthetic assistant message for the error
    assert any(
        x.get("type") == "assistant" and x["message"]["model"] == "<synthetic>" for x in run.lines
    )


@pytest.mark.claude
def test_cli_retries_5xx_and_529(claude_bin: Path, cli_repo: Path, tmp_path: Path) -> None:
    # one retry allowed: a single 500 is absorbed, the retry consumes the next turn
    with FakeAnthropic([Fail(500), Text("recovered")]) as api:
        env = claude_env(api.base_url, tmp_path / "home", CLAUDE_CODE_MAX_RETRIES="1")
        run = run_claude(claude_bin, cli_repo, env, "hi")
    assert run.returncode == 0 and run.result["result"] == "recovered"
    assert [r.status for r in api.main_requests] == [500, 200]
    retries = [x for x in run.lines if x.get("subtype") == "api_retry"]
    assert [(x["attempt"], x["error_status"]) for x in retries] == [(1, 500)]

    # persistent overload: 1 + 1 attempts, then an error result
    with FakeAnthropic([Fail(529, times=None)]) as api:
        env = claude_env(api.base_url, tmp_path / "home", CLAUDE_CODE_MAX_RETRIES="1")
        run = run_claude(claude_bin, cli_repo, env, "hi")
    assert run.returncode == 1
    assert run.result["is_error"] and run.result["api_error_status"] == 529
    assert [r.status for r in api.main_requests] == [529, 529]


@pytest.mark.claude
def test_cli_request_timeout_with_slow_turn(
    claude_bin: Path, cli_repo: Path, tmp_path: Path
) -> None:
    with FakeAnthropic([Slow(30, then=Text("too late"))]) as api:
        env = claude_env(
            api.base_url, tmp_path / "home", API_TIMEOUT_MS="1000", CLAUDE_CODE_MAX_RETRIES="0"
        )
        run = run_claude(claude_bin, cli_repo, env, "hi")
    assert run.returncode == 1
    assert run.result["is_error"] and "timed out" in run.result["result"].lower()
    assert run.duration < 20


@pytest.mark.claude
def test_cli_title_side_request_does_not_consume_script(
    claude_bin: Path, cli_repo: Path, tmp_path: Path
) -> None:
    script = [
        ToolUse("Read", lambda c: {"file_path": c.path("README.md")}),
        Text("It's a project."),
    ]
    with FakeAnthropic(script) as api:
        env = claude_env(api.base_url, tmp_path / "home")
        env.pop("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC")  # lets the CLI generate a title
        run = run_claude(claude_bin, cli_repo, env, "What is this repo?", *LEARN_FLAGS)
    assert run.returncode == 0 and run.result["result"] == "It's a project."
    side = api.side_requests
    assert len(side) == 1 and side[0].tool_names == [] and "title" in side[0].system_text
    assert len(api.main_requests) == 2 and api.remaining == 0
    transcript = find_transcript(tmp_path / "home" / ".claude", run.result["session_id"])
    assert transcript is not None
    titles = [json.loads(x) for x in transcript.read_text().splitlines() if '"ai-title"' in x]
    assert titles and titles[0]["aiTitle"] == "Scripted session"
