"""Record real `claude --output-format stream-json` output for the stream parser's tests.

Runs the pinned Claude Code CLI against the scripted loopback Messages API with the exact
flags the claude engine uses, and saves stdout as tests/data/stream-<scenario>.jsonl.
Run: python tests/data/record_streams.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from learn.engines.claude import ALLOWED, TOOLS  # noqa: E402
from tests.fakes.anthropic_api import Fail, FakeAnthropic, Text, ToolUse  # noqa: E402
from tests.fakes.claude_cli import claude_env, default_cache_dir, install_claude_cli  # noqa: E402

DOC = "---\ntitle: T\nread_when:\n  - always\n---\n\n# T\n"
SCENARIOS = {
    "write-doc": [
        ToolUse("Glob", {"pattern": "docs/learned/**/*.md"}),
        ToolUse(
            "Write", lambda ctx: {"file_path": ctx.path("docs/learned/a/b.md"), "content": DOC}
        ),
        Text("Wrote docs/learned/a/b.md"),
    ],
    "denied": [
        ToolUse("Write", lambda ctx: {"file_path": ctx.path("README.md"), "content": "x"}),
        ToolUse("Bash", {"command": "echo hi"}),
        Text("I could not write."),
    ],
    "api-error": [Fail(status=500, times=None)],
}


def main() -> None:
    claude = install_claude_cli(default_cache_dir()).path
    assert claude, "npm install of the Claude Code CLI failed"
    for name, script in SCENARIOS.items():
        with tempfile.TemporaryDirectory() as tmp, FakeAnthropic(script=script) as api:
            repo = Path(tmp) / "repo"
            (repo / "docs" / "learned").mkdir(parents=True)
            subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
            env = claude_env(api.base_url, Path(tmp) / "home", CLAUDE_CODE_MAX_RETRIES="0")
            argv = [
                str(claude),
                "-p",
                "learn",
                "--verbose",
                "--output-format",
                "stream-json",
                "--model",
                "claude-haiku-4-5",
                "--permission-mode",
                "dontAsk",
                f"--tools={TOOLS}",
                f"--allowedTools={ALLOWED}",
            ]
            out = subprocess.run(
                argv, cwd=repo, env=env, capture_output=True, text=True, timeout=120
            )
            path = Path(__file__).with_name(f"stream-{name}.jsonl")
            path.write_text(out.stdout.replace(tmp, "/tmp/REC"))
            print(f"{path.name}: exit {out.returncode}, {len(out.stdout.splitlines())} lines")


if __name__ == "__main__":
    main()
