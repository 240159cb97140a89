"""Tokens the model receives, per example and for a large generated session.

Runs `invoke learn --engine claude` with the real Claude Code CLI against the scripted loopback
Messages API (tests/fakes/anthropic_api.py): the model reads the first digest chunk, then says
there is nothing to keep. Tokens are the request bodies' bytes / 4, from the fake's log. The
first request carries our prompt with the evidence pack; it must stay under
``FIRST_REQUEST_TOKENS`` whatever the session's size (about 10k of it are the CLI's own system
prompt and tool definitions).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, inputs
from tests.fakes.anthropic_api import FakeAnthropic, RequestContext, Text, ToolUse
from tests.fakes.claude_cli import claude_env, default_cache_dir, install_claude_cli
from tests.support.processes import make_invoke
from tests.support.repos import git

EXAMPLES = ("fix-failing-test.jsonl", "nothing-to-learn.jsonl")
LARGE = ("100MB", "10MB")  # the largest generated input of the run is measured too
_PACK = re.compile(r"<evidence-pack>(.*?)</evidence-pack>", re.S)


def _read_first_chunk(ctx: RequestContext) -> dict[str, str]:
    prompt = "\n".join(str(m.get("content")) for m in ctx.messages)
    match = re.search(r"`(/[^`]+/digest-001\.md)`", prompt)
    assert match, "the prompt names the digest chunks"
    return {"file_path": match.group(1)}


def one(session: Path, claude: Path, raw_bytes: int) -> dict[str, Any]:
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
        done = make_invoke(Path(tmp), timeout=900)(
            "learn", "--session", str(session), "--repo", str(repo), "--engine", "claude", env=env
        )
        if done.code != 0:
            raise RuntimeError(f"learn failed for {session.name}: {done.text[-500:]}")
        chunks = list(repo.glob(".learn/runs/*/digest/digest-*.md"))
        digest = sum(p.stat().st_size for p in chunks)
        per_request = [r.approx_tokens for r in api.main_requests]
        first = "\n".join(api.main_requests[0].user_texts()) if api.main_requests else ""
    pack = _PACK.search(first)
    return {
        "raw_bytes": raw_bytes,
        "raw_tokens": raw_bytes // 4,
        "digest_tokens": digest // 4,
        "chunks": len(chunks),
        "requests": len(per_request),
        "tokens_per_request": per_request,
        "tokens_sent": sum(per_request),
        "first_request_tokens": per_request[0] if per_request else 0,
        "pack_chars": len(pack.group(1)) if pack else 0,
    }


def run(labels: list[str] | None = None) -> dict[str, Any]:
    install = install_claude_cli(default_cache_dir())
    if install.path is None:
        print(f"  skipped: Claude Code CLI unavailable ({install.reason})")
        return {"skipped": install.reason}
    cases = [(name, ROOT / "examples" / name) for name in EXAMPLES]
    large = next((label for label in LARGE if label in (labels or [])), None)
    if large is not None:
        main, _ = inputs([large])[large]
        cases.append((f"generated {large} session", main))
    out: dict[str, Any] = {}
    for name, session in cases:
        raw = (
            sum(p.stat().st_size for p in session.parent.rglob("*.jsonl"))
            if (name.startswith("generated"))
            else session.stat().st_size
        )
        out[name] = r = one(session, install.path, raw)
        print(
            f"  {name}: raw ~{r['raw_tokens']:,} tok, digest ~{r['digest_tokens']:,} tok in "
            f"{r['chunks']} chunk(s); first request {r['first_request_tokens']:,} tok (evidence "
            f"pack {r['pack_chars']:,} chars); whole run {r['tokens_per_request']} = "
            f"{r['tokens_sent']:,} tok"
        )
    return out


if __name__ == "__main__":
    run()
