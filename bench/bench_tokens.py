"""Tokens the model receives per example, next to the raw transcript size.

Runs `invoke learn --engine claude` with the real Claude Code CLI against the scripted loopback
Messages API (tests/fakes/anthropic_api.py): the model reads the first digest chunk, then says
there is nothing to keep. Tokens are the request bodies' bytes / 4, from the fake's log.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT
from tests.fakes.anthropic_api import FakeAnthropic, RequestContext, Text, ToolUse
from tests.fakes.claude_cli import claude_env, default_cache_dir, install_claude_cli
from tests.support.processes import make_invoke
from tests.support.repos import git

EXAMPLES = ("fix-failing-test.jsonl", "nothing-to-learn.jsonl")


def _read_first_chunk(ctx: RequestContext) -> dict[str, str]:
    prompt = "\n".join(str(m.get("content")) for m in ctx.messages)
    match = re.search(r"`(/[^`]+/digest-001\.md)`", prompt)
    assert match, "the prompt names the digest chunks"
    return {"file_path": match.group(1)}


def one(example: Path, claude: Path) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeAnthropic(
            script=[ToolUse("Read", _read_first_chunk), Text("Nothing worth keeping.")]
        ) as api,
    ):
        repo = Path(tmp) / "repo"
        git(Path(tmp), "init", "--quiet", "-b", "main", str(repo))
        (repo / "README.md").write_text("# sample\n")
        git(repo, "add", ".")
        git(repo, "commit", "--quiet", "-m", "initial")
        env = {**claude_env(api.base_url, Path(tmp) / "home"), "LEARN_CLAUDE_BIN": str(claude)}
        done = make_invoke(Path(tmp), timeout=300)(
            "learn", "--session", str(example), "--repo", str(repo), "--engine", "claude", env=env
        )
        if done.code != 0:
            raise RuntimeError(f"learn failed for {example.name}: {done.text[-500:]}")
        digest = sum(p.stat().st_size for p in repo.glob(".learn/runs/*/digest/digest-*.md"))
        per_request = [r.approx_tokens for r in api.main_requests]
    raw = example.stat().st_size
    return {
        "raw_bytes": raw,
        "raw_tokens": raw // 4,
        "digest_tokens": digest // 4,
        "requests": len(per_request),
        "tokens_per_request": per_request,
        "tokens_sent": sum(per_request),
    }


def run() -> dict[str, Any]:
    install = install_claude_cli(default_cache_dir())
    if install.path is None:
        print(f"  skipped: Claude Code CLI unavailable ({install.reason})")
        return {"skipped": install.reason}
    out: dict[str, Any] = {}
    for name in EXAMPLES:
        out[name] = one(ROOT / "examples" / name, install.path)
        r = out[name]
        print(
            f"  {name}: raw ~{r['raw_tokens']:,} tok, digest ~{r['digest_tokens']:,} tok, "
            f"sent {r['tokens_per_request']} = {r['tokens_sent']:,} tok"
        )
    return out


if __name__ == "__main__":
    run()
