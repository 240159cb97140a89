"""The Claude Code engine: the real ``claude`` CLI in headless mode, confined by its own
permission system.

``--permission-mode dontAsk`` with ``--tools`` (what the model is offered) and scoped
``--allowedTools`` rules runs without prompts and refuses a shell, the web, and any write outside
``docs/learned/`` — the refusals are listed in the final ``result`` line, which we read: a run in
which every tool was denied still exits 0. ``--dangerously-skip-permissions`` (what the seed plan
used) is available only behind an explicit setting. The stream is parsed live for progress, and
our own code validates whatever the model wrote afterwards.
"""

from __future__ import annotations

import os
import threading
from importlib import resources
from pathlib import Path

import orjson

from learn.console import Output
from learn.digest import load_events
from learn.engines import DOCS_DIR, EngineJob, EngineResult, EngineUsage
from learn.engines.stream import StreamState
from learn.errors import EngineError, UsageError
from learn.gateways.claude_cli import ClaudeCli, ClaudeCliLike, CliTimeout
from learn.lessons.candidates import extract
from learn.lessons.pack import evidence_pack
from learn.privacy.outbound import clean
from learn.settings import Settings

__all__ = [
    "ALLOWED",
    "CAP_STOPS",
    "FIRST_REQUEST_TOKENS",
    "INPUT_TOKENS",
    "MAX_LISTED_CHUNKS",
    "TOOLS",
    "ClaudeEngine",
    "build_prompt",
    "chunk_listing",
    "command",
    "load_prompt",
    "prompt_path",
]

TOOLS = "Read,Write,Edit,Glob,Grep"
ALLOWED = f"Read,Glob,Grep,Write({DOCS_DIR}/**),Edit({DOCS_DIR}/**)"


# What a stop at a cap looks like in the CLI's result line.
CAP_STOPS = {
    "error_max_turns": "the turn cap (--max-turns)",
    "error_max_budget_usd": "the cost cap (--max-cost-usd)",
}


# Every kind of token sent to the model (cached prompt parts are billed too).
INPUT_TOKENS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def load_prompt() -> str:
    return resources.files("learn").joinpath("prompts/learn.md").read_text(encoding="utf-8")


MAX_LISTED_CHUNKS = 8  # the prompt names at most this many chunk files
# The first request to the model stays under this many tokens whatever the session's size: the
# CLI's own system prompt and tool definitions (~10k) plus our prompt with its bounded evidence
# pack (learn.lessons.pack.PACK_CHARS) and chunk listing.
FIRST_REQUEST_TOKENS = 20_000


def chunk_listing(chunks: list[Path]) -> str:
    """Where the digest is, in a bounded number of lines whatever the session's size."""
    if not chunks:
        return "(The digest is empty.)"
    if len(chunks) <= MAX_LISTED_CHUNKS:
        return "Its files, in order:\n\n" + "\n".join(f"- `{p}`" for p in chunks)
    return (
        f"It has {len(chunks)} files, `digest-001.md` to `{chunks[-1].name}` in "
        f"`{chunks[0].parent}`; event numbers grow from one file to the next:\n\n"
        + "\n".join(f"- `{p}`" for p in chunks[:3])
        + f"\n- …\n- `{chunks[-1]}`"
    )


def _fields(job: EngineJob) -> dict[str, str]:
    chunks = sorted(job.digest_dir.glob("digest-*.md"))
    source = (
        f"The plan issue #{job.issue}: “{clean(job.title)}”."
        if job.issue is not None
        else "A local session (no plan issue)."
    )
    return {
        "source": source,
        "evidence": evidence_pack(extract(load_events(job.digest_dir))),
        "chunks": chunk_listing(chunks),
        "issue": str(job.issue) if job.issue is not None else "null",
        "sessions": ", ".join(job.sessions),
        "today": job.today,
    }


def build_prompt(job: EngineJob, prompt_file: Path | None = None) -> str:
    """The bundled prompt with the evidence pack and where the digest is (bounded in size), or
    a team's own (``prompt-file``).

    A team's prompt may use ``{source}``, ``{evidence}``, ``{chunks}``, ``{issue}``,
    ``{sessions}`` and ``{today}``; other braces are left alone. Without ``{chunks}`` the
    digest files are listed at the end, so the model always knows what to read.
    """
    values = _fields(job)
    if prompt_file is None:
        return load_prompt().format(**values)
    try:
        text = prompt_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read the prompt file {prompt_file}: {exc}",
            fix="set prompt-file to a UTF-8 file in the repository",
        ) from None
    lists_chunks = "{chunks}" in text
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    if not lists_chunks:
        text += f"\n\nThe session digest. {values['chunks']}\n"
    return text


def prompt_path(job: EngineJob, settings: Settings) -> Path | None:
    """The team's prompt file (relative to the repository the run learns into), if set."""
    if not settings.prompt_file:
        return None
    path = Path(settings.prompt_file)
    return path if path.is_absolute() else job.worktree / path


def command(job: EngineJob, settings: Settings) -> list[str]:
    """The CLI's arguments: the prompt, stream-json output, the caps and the confinement."""
    args = [
        "-p",
        build_prompt(job, prompt_path(job, settings)),
        "--verbose",
        "--output-format",
        "stream-json",
        "--model",
        settings.model,
        "--add-dir",
        str(job.digest_dir),
    ]
    if settings.max_turns:
        args += ["--max-turns", str(settings.max_turns)]
    if settings.max_cost_usd:
        args += ["--max-budget-usd", f"{settings.max_cost_usd:g}"]
    if settings.skip_permissions:
        return [*args, "--dangerously-skip-permissions"]
    return [*args, "--permission-mode", "dontAsk", f"--tools={TOOLS}", f"--allowedTools={ALLOWED}"]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


class ClaudeEngine:
    name = "claude"

    def __init__(
        self,
        settings: Settings,
        out: Output,
        env: dict[str, str] | None = None,
        cli: ClaudeCliLike | None = None,
    ) -> None:
        self.settings = settings
        self.out = out
        self.env = dict(os.environ if env is None else env)
        self.cli = cli or ClaudeCli(self.env)
        self.capped = ""  # the cap the last run stopped at, if any

    def run(self, job: EngineJob) -> EngineResult:
        if self.cli.binary() is None:
            raise UsageError(
                "the Claude Code CLI (`claude`) is not installed",
                fix="npm install -g @anthropic-ai/claude-code, or use --engine offline",
            )
        if not self.cli.has_credentials():
            raise UsageError(
                "no Claude credentials", fix="set ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN"
            )
        argv = command(job, self.settings)
        env = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", **self.env}
        if self.settings.skip_permissions:
            env["IS_SANDBOX"] = "1"
        job.docs_root.mkdir(parents=True, exist_ok=True)
        before = _snapshot(job.docs_root)
        stream = self._run(argv, env, job)
        after = _snapshot(job.docs_root)
        changed = sorted(p for p in after if before.get(p) != after[p])
        return self._outcome(stream, job, [f"{DOCS_DIR}/{p}" for p in changed])

    def _run(self, argv: list[str], env: dict[str, str], job: EngineJob) -> StreamState:
        stream = StreamState()
        lock = threading.Lock()
        log = (job.run_dir / "engine.jsonl").open("w", encoding="utf-8")
        turns_reported = 0

        def on_line(line: str) -> None:
            nonlocal turns_reported
            with lock:
                log.write(line if line.endswith("\n") else line + "\n")
                stream.feed(line)
                if stream.turns != turns_reported:
                    turns_reported = stream.turns
                    self.out.info(f"  claude: {stream.progress()}")

        caps = (f", max {self.settings.max_turns} turns" if self.settings.max_turns else "") + (
            f", max ${self.settings.max_cost_usd:g}" if self.settings.max_cost_usd else ""
        )
        self.out.info(
            f"claude: model {self.settings.model}, timeout {self.settings.timeout}s{caps}"
        )
        try:
            done = self.cli.run(
                argv, cwd=job.worktree, env=env, timeout=self.settings.timeout, on_line=on_line
            )
        except CliTimeout:
            raise EngineError(
                f"the Claude engine timed out after {self.settings.timeout}s ({stream.progress()})",
                fix="raise LEARN_TIMEOUT or check the API's health",
            ) from None
        finally:
            log.close()
        code = done.exit_code
        stop = CAP_STOPS.get(str((stream.result or {}).get("subtype") or ""))
        if stop is not None:
            self.out.warn(f"the Claude engine stopped at {stop} after {stream.num_turns} turn(s)")
            self.capped = stop
            return stream
        if code != 0 or stream.is_error:
            why = stream.message or done.stderr_tail.splitlines()[-1:] or ["no output"]
            text = why if isinstance(why, str) else why[0]
            raise EngineError(f"the Claude engine failed (exit {code}): {text.strip()[:300]}")
        if not stream.finished:
            raise EngineError(
                "the Claude engine ended without a result line (malformed or cut-off stream; "
                f"{stream.malformed} unreadable line(s))"
            )
        if stream.num_turns == 0:
            raise EngineError(
                "the Claude engine made no turn", fix="check the model name and the API"
            )
        return stream

    def _outcome(self, stream: StreamState, job: EngineJob, written: list[str]) -> EngineResult:
        for denial in stream.denials:
            self.out.warn(f"refused by the CLI: {denial.tool} {denial.target}")
        if self.capped and not written:
            raise EngineError(
                f"the Claude engine stopped at {self.capped} before writing a doc",
                fix="raise the cap (LEARN_MAX_TURNS / LEARN_MAX_COST_USD) or leave it at 0",
            )
        if stream.denials and not written:
            shown = "; ".join(f"{d.tool} {d.target}" for d in stream.denials[:5])
            raise EngineError(f"the model's actions were refused and it wrote no doc: {shown}")
        usage = stream.usage
        summary = (
            f"claude: {stream.num_turns} turn(s), ${stream.cost_usd:.4f}, "
            f"{usage.get('input_tokens', 0):,} in / {usage.get('output_tokens', 0):,} out tokens, "
            f"{len(stream.denials)} refusal(s); {stream.message.strip()[:200]}"
        )
        report = {
            "engine": self.name,
            "model": self.settings.model,
            "turns": stream.num_turns,
            "cost_usd": stream.cost_usd,
            "usage": usage,
            "tools_used": dict(stream.tools_used),
            "denials": [{"tool": d.tool, "target": d.target} for d in stream.denials],
            "result": stream.message,
        }
        (job.run_dir / "engine-report.json").write_bytes(
            orjson.dumps(report, option=orjson.OPT_INDENT_2)
        )
        used = EngineUsage(
            turns=stream.num_turns,
            input_tokens=sum(_int(usage.get(k)) for k in INPUT_TOKENS),
            output_tokens=_int(usage.get("output_tokens")),
            cost_usd=stream.cost_usd,
        )
        return EngineResult(self.name, written, summary, used)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
