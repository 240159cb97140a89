"""Deterministic synthetic Claude Code transcripts for the benchmarks, with their ground truth.

    python -m bench.gen_transcript --size 10MB --out DIR [--seed N]

Writes a 2.1.x session the way the CLI lays it out (``docs/transcript-format.md``; genuine lines in
``examples/fix-failing-test.jsonl``)::

    DIR/projects/-home-dev-src-ledgerline/<sessionId>.jsonl
    DIR/projects/-home-dev-src-ledgerline/<sessionId>/subagents/agent-<id>.jsonl (+ .meta.json)
    DIR/truth.json

The session works on a synthetic Python project (``ledgerline``): user prompts (some pasting
logs, some with screenshots, corrections, prompts after an interrupt), assistant responses
written as several lines sharing ``message.id`` with growing ``usage`` (thinking blocks, over
half empty with only a signature; text; one or more ``tool_use``), tool results with the CLI's
``toolUseResult`` (Bash with pytest failures, tracebacks, lint errors and long logs; Read with
file contents and images; Edit with ``originalFile`` and ``structuredPatch``; Write, Grep, Glob,
TodoWrite, Task), ``is_error`` results (failing commands, edits that do not match, missing
files, rejected tool uses), ``progress`` lines (``bash_progress``, ``hook_progress``, and
``agent_progress`` mirroring every subagent line), ``file-history-snapshot`` lines (the update
after an edit carries the whole pre-edit file), ``system`` ``turn_duration`` / ``api_error`` /
``compact_boundary`` followed by the ``isCompactSummary`` user message, ``summary`` lines,
meta user messages (caveats, slash-command expansions), ``<synthetic>`` API error messages, and
secrets in tool output, in a snapshot of ``.env`` and in one prompt.

``truth.json`` is what the retention check compares the digest with: every non-meta prompt a
human typed (and every subagent's task prompt), the number of ``is_error`` tool results, the
paths of every Edit/Write call (relative to the cwd), the planted secrets, and the byte
composition of the files. Same size + seed => byte-identical output.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import string
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

GEN_VERSION = 1  # bump when the output changes, so cached inputs are regenerated
SIZES = {"1MB": 1_000_000, "10MB": 10_000_000, "100MB": 100_000_000}
DEFAULT_SEED = 20260112

CLI_VERSION = "2.1.42"  # progress lines exist in 2.1.19-2.1.83; subagents in the 2.1.x layout
MODEL = "claude-opus-4-5-20251101"
CWD = "/home/dev/src/ledgerline"
PROJECT_DIR = "-home-dev-src-ledgerline"
BRANCH = "feat/reconcile-fx"
EDIT_TOOLS = ("Edit", "Write", "MultiEdit", "NotebookEdit")

_B62 = string.ascii_letters + string.digits


def _words(text: str) -> list[str]:
    return text.split()


WORDS = _words(
    """
account amount balance batch bucket cache call cents check client column config context
convert currency cursor date decimal default delta entry error event export field file filter
format handler header import index input item journal key ledger limit line list loader lookup
match merge message method model module name node offset option order parser path payload
period posting query queue range rate reader record reconcile report request result retry row
rule schema session settle source split state statement status store stream string table task
tenant timestamp token total transaction type update user value version window worker writer
"""
)
VERBS = _words(
    """
add adjust align apply build check clean collect compute convert create drop emit ensure fetch
filter find flush format group handle load lookup map merge normalise parse push read refresh
render reset resolve round save scan select skip sort split store strip sum update validate
write
"""
)
PROSE = _words(
    """
the a this that it we I should would could will now then also still just only first next
because since so but and or if when while after before instead already again probably likely
test tests function module file change fix issue failure error value case path code behaviour
call result import type helper config the the the a a to to of of in in is is for for with on
"""
)
MODULES = [
    "core",
    "models",
    "parser",
    "reconcile",
    "storage",
    "cli",
    "config",
    "auth",
    "export",
    "report",
    "currency",
    "importers/csv_import",
    "importers/ofx_import",
    "api/routes",
    "api/schemas",
    "utils/dates",
    "utils/text",
    "fx/rates",
    "fx/cache",
]
EXCEPTIONS = ["ValueError", "KeyError", "TypeError", "AttributeError", "ZeroDivisionError"]
EXCEPTIONS += ["decimal.InvalidOperation", "FileNotFoundError", "AssertionError"]


class Rng(random.Random):
    """``random.Random`` with the generators this file needs."""

    def word(self) -> str:
        return self.choice(WORDS)

    def ident(self) -> str:
        return f"{self.choice(VERBS)}_{self.choice(WORDS)}" if self.random() < 0.6 else self.word()

    def sentence(self, lo: int = 6, hi: int = 18) -> str:
        words = self.choices(PROSE + WORDS, k=self.randint(lo, hi))
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def prose(self, lo: int, hi: int) -> str:
        """About lo..hi characters of sentences."""
        target = self.randint(lo, hi)
        out: list[str] = []
        size = 0
        while size < target:
            s = self.sentence()
            out.append(s)
            size += len(s) + 1
        return " ".join(out)

    def b62(self, n: int) -> str:
        return "".join(self.choices(_B62, k=n))

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.getrandbits(128), version=4))

    def b64(self, nbytes: int) -> str:
        return base64.b64encode(self.randbytes(nbytes)).decode()


# --------------------------------------------------------------------------------------------
# The synthetic project
# --------------------------------------------------------------------------------------------


def _stmt(rng: Rng, indent: str) -> list[str]:
    a, b, c = rng.ident(), rng.word(), rng.ident()
    kind = rng.randrange(9)
    if kind == 0:
        return [f"{indent}{a} = {b}.{c}({rng.word()}, {rng.word()}={rng.randint(0, 99)})"]
    if kind == 1:
        msg = rng.sentence(3, 8)
        return [f"{indent}if {a} is None:", f'{indent}    raise ValueError(f"{msg} {{{b}!r}}")']
    if kind == 2:
        return [f"{indent}for {b} in {a}:", f"{indent}    {c}.append({b}.{rng.word()})"]
    if kind == 3:
        return [f"{indent}# {rng.sentence(4, 12)}"]
    if kind == 4:
        return [f'{indent}{a} = Decimal("{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}")']
    if kind == 5:
        return [f"{indent}{a} = {{{rng.word()!r}: {b}, {rng.word()!r}: {c}}}"]
    if kind == 6:
        return [f"{indent}logger.debug({rng.sentence(3, 7)!r}, {a})"]
    if kind == 7:
        return [
            f"{indent}try:",
            f"{indent}    {a} = {c}({b})",
            f"{indent}except {rng.choice(EXCEPTIONS)} as exc:",
            f"{indent}    raise {rng.choice(['LedgerError', 'ParseError'])}(str(exc)) from exc",
        ]
    return [f"{indent}{a} += {b}.{rng.word()} * {rng.randint(1, 12)}"]


def make_module(rng: Rng, name: str) -> str:
    lines = [f'"""{rng.sentence(6, 14)}"""', "", "from __future__ import annotations", ""]
    lines += ["import logging", "from dataclasses import dataclass, field", "from decimal import"]
    lines[-1] += " Decimal"
    lines += [f"from ledgerline.{rng.choice(MODULES).replace('/', '.')} import {rng.ident()}"]
    lines += ["", "logger = logging.getLogger(__name__)"]
    for _ in range(rng.randint(4, 13)):
        lines += ["", ""]
        if rng.random() < 0.25:
            cls = "".join(w.title() for w in (rng.word(), rng.word()))
            lines += ["@dataclass", f"class {cls}:", f'    """{rng.sentence(5, 12)}"""', ""]
            for _ in range(rng.randint(2, 7)):
                lines.append(f"    {rng.word()}: {rng.choice(['str', 'int', 'Decimal'])} = None")
            continue
        args = ", ".join(f"{rng.word()}: {rng.choice(['str', 'int', 'Decimal'])}" for _ in "ab")
        lines += [f"def {rng.ident()}({args}) -> {rng.choice(['str', 'int', 'Decimal', 'bool'])}:"]
        lines.append(f'    """{rng.sentence(5, 16)}"""')
        for _ in range(rng.randint(3, 16)):
            lines += _stmt(rng, "    ")
        lines.append(f"    return {rng.ident()}")
    return "\n".join(lines) + "\n"


def make_test_module(rng: Rng, name: str) -> str:
    mod = name.replace("/", ".")
    funcs = ", ".join(sorted({rng.ident() for _ in range(3)}))
    lines = ["import pytest", "from decimal import Decimal", "", f"from ledgerline.{mod} import"]
    lines[-1] += f" {funcs}"
    for _ in range(rng.randint(5, 16)):
        lines += ["", ""]
        if rng.random() < 0.3:
            lines.append(f'@pytest.mark.parametrize("{rng.word()}", [{rng.randint(0, 9)}, 2, 3])')
        lines.append(f"def test_{rng.ident()}():")
        for _ in range(rng.randint(1, 6)):
            lines.append(f"    {rng.word()} = {rng.ident()}({rng.word()!r})")
        lines.append(
            f'    assert {rng.word()} == Decimal("{rng.randint(0, 500)}.{rng.randint(10, 99)}")'
        )
    return "\n".join(lines) + "\n"


@dataclass
class Secrets:
    github: str
    aws_id: str
    aws_secret: str
    anthropic: str
    db_password: str

    @classmethod
    def make(cls, rng: Rng) -> Secrets:
        return cls(
            github="ghp_" + rng.b62(36),
            aws_id="AKIA" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16)),
            aws_secret=rng.b62(30) + "/" + rng.b62(9),
            anthropic="sk-ant-api03-" + rng.b62(80) + "-" + rng.b62(6) + "AA",
            db_password="Lx" + rng.b62(14),
        )

    def values(self) -> list[str]:
        return [self.github, self.aws_id, self.aws_secret, self.anthropic, self.db_password]

    def env_file(self) -> str:
        return (
            "APP_ENV=development\nLOG_LEVEL=debug\n"
            f"GITHUB_TOKEN={self.github}\n"
            f"AWS_ACCESS_KEY_ID={self.aws_id}\n"
            f"AWS_SECRET_ACCESS_KEY={self.aws_secret}\n"
            f"DATABASE_URL=postgres://ledger:{self.db_password}@db.internal:5432/ledger\n"
            f"ANTHROPIC_API_KEY={self.anthropic}\n"
        )


class Project:
    """The files of the synthetic repository; edits change them."""

    def __init__(self, rng: Rng, secrets: Secrets) -> None:
        self.files: dict[str, str] = {}
        for name in MODULES:
            self.files[f"src/ledgerline/{name}.py"] = make_module(rng, name)
        for name in rng.sample(MODULES, 14):
            self.files[f"tests/test_{name.split('/')[-1]}.py"] = make_test_module(rng, name)
        self.files["README.md"] = "# ledgerline\n\n" + "\n\n".join(
            rng.prose(200, 600) for _ in range(8)
        )
        self.files["pyproject.toml"] = (
            '[project]\nname = "ledgerline"\nversion = "0.7.2"\nrequires-python = ">=3.11"\n'
            'dependencies = ["httpx>=0.27", "pydantic>=2.6", "sqlalchemy>=2.0", "click>=8"]\n'
            '\n[tool.pytest.ini_options]\naddopts = "-ra"\n'
        )
        self.files[".env"] = secrets.env_file()
        self.images = ["docs/img/report-layout.png", "docs/img/reconcile-diff.png"]

    def sources(self) -> list[str]:
        return [p for p in self.files if p.endswith(".py")]

    def tests(self) -> list[str]:
        return [p for p in self.files if p.startswith("tests/")]

    def modules(self) -> list[str]:
        return [p for p in self.files if p.startswith("src/")]


# --------------------------------------------------------------------------------------------
# Writing lines
# --------------------------------------------------------------------------------------------


@dataclass
class Truth:
    session_id: str
    prompts: list[dict[str, str]] = field(default_factory=list)
    tool_errors: int = 0
    tool_results: int = 0
    edited_paths: set[str] = field(default_factory=set)
    secrets: list[str] = field(default_factory=list)
    composition: dict[str, int] = field(default_factory=dict)
    lines: int = 0

    def account(self, entry: dict[str, Any], size: int) -> None:
        kind = str(entry.get("type"))
        if kind == "progress":
            kind = f"progress/{entry['data']['type']}"
        elif kind == "system":
            kind = f"system/{entry.get('subtype')}"
        elif kind == "user":
            content = entry["message"]["content"]
            if entry.get("isMeta"):
                kind = "user/meta"
            elif isinstance(content, list) and any(
                isinstance(b, dict) and b.get("type") == "tool_result" for b in content
            ):
                kind = "user/tool_result"
        self.composition[kind] = self.composition.get(kind, 0) + size
        self.lines += 1


class Writer:
    def __init__(self, path: Path, truth: Truth) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fh: IO[bytes] = path.open("wb")
        self.truth = truth
        self.bytes = 0

    def write(self, entry: dict[str, Any]) -> None:
        data = orjson.dumps(entry) + b"\n"
        self.fh.write(data)
        self.bytes += len(data)
        self.truth.account(entry, len(data))

    def close(self) -> None:
        self.fh.close()


class Thread:
    """One transcript file (the main thread or a subagent): its parentUuid chain and envelope."""

    def __init__(self, gen: Generator, writer: Writer, agent_id: str = "") -> None:
        self.gen = gen
        self.w = writer
        self.agent_id = agent_id
        self.parent: str | None = None
        self.mirror: Any = None  # (thread, task tool id, prompt): agent_progress in the parent

    def envelope(self, kind: str, **fields: Any) -> dict[str, Any]:
        gen = self.gen
        entry: dict[str, Any] = {"parentUuid": self.parent, "isSidechain": bool(self.agent_id)}
        entry.update(
            userType="external",
            cwd=CWD,
            sessionId=gen.truth.session_id,
            version=CLI_VERSION,
            gitBranch=BRANCH,
        )
        if self.agent_id:
            entry["agentId"] = self.agent_id
        entry["type"] = kind
        entry.update(fields)
        entry["uuid"] = gen.rng.uuid4()
        entry["timestamp"] = gen.clock(kind)
        return entry

    def emit(self, entry: dict[str, Any], chain: bool = True) -> dict[str, Any]:
        self.w.write(entry)
        if chain:
            self.parent = entry["uuid"]
        if self.mirror is not None and entry["type"] in ("user", "assistant"):
            parent, tool_id, prompt = self.mirror
            data = {
                "message": {
                    "type": entry["type"],
                    "message": entry["message"],
                    "uuid": entry["uuid"],
                    "timestamp": entry["timestamp"],
                },
                "normalizedMessages": [],
                "type": "agent_progress",
                "prompt": prompt,
                "agentId": self.agent_id,
            }
            parent.progress(data, f"agent_msg_{self.gen.rng.b62(24)}", tool_id)
        return entry

    # ---- entry kinds ----------------------------------------------------------------------

    def user(self, content: Any, **extra: Any) -> dict[str, Any]:
        return self.emit(
            self.envelope("user", message={"role": "user", "content": content}, **extra)
        )

    def progress(self, data: dict[str, Any], tool_use_id: str, parent_tool_id: str) -> None:
        entry = self.envelope("progress", data=data, toolUseID=tool_use_id)
        entry["parentToolUseID"] = parent_tool_id
        self.emit(entry)

    def system(self, subtype: str, **fields: Any) -> dict[str, Any]:
        return self.emit(self.envelope("system", subtype=subtype, **fields))

    def response(self, blocks: list[dict[str, Any]], stop: str) -> str:
        """One API response written as one line per content block, sharing message.id."""
        rng = self.gen.rng
        msg_id = "msg_01" + rng.b62(22)
        request_id = "req_011C" + rng.b62(20)
        cache_read = rng.randint(8_000, 150_000)
        out_tokens = 0
        last = ""
        for i, block in enumerate(blocks):
            out_tokens += max(1, len(orjson.dumps(block)) // 4 + rng.randint(0, 20))
            usage = {
                "input_tokens": rng.randint(1, 12),
                "cache_creation_input_tokens": rng.randint(0, 3000),
                "cache_read_input_tokens": cache_read,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 0,
                    "ephemeral_1h_input_tokens": rng.randint(0, 3000),
                },
                "output_tokens": out_tokens,  # grows across the lines of one response
                "service_tier": "standard",
            }
            message = {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [block],
                "stop_reason": stop if i == len(blocks) - 1 else None,
                "stop_sequence": None,
                "usage": usage,
            }
            extra: dict[str, Any] = {"message": message}
            if rng.random() < 0.6:  # requestId is missing on ~40% of lines
                extra["requestId"] = request_id
            last = self.emit(self.envelope("assistant", **extra))["uuid"]
        return last

    def tool_result(
        self,
        tool_id: str,
        content: Any,
        is_error: bool,
        tool_use_result: Any,
        source: str,
    ) -> None:
        block: dict[str, Any] = {"tool_use_id": tool_id, "type": "tool_result", "content": content}
        if is_error or self.gen.rng.random() < 0.5:
            block["is_error"] = is_error
        self.user(
            [block],
            toolUseResult=tool_use_result,
            sourceToolAssistantUUID=source,
        )
        self.gen.truth.tool_results += 1
        self.gen.truth.tool_errors += bool(is_error)


# --------------------------------------------------------------------------------------------
# Tool outputs
# --------------------------------------------------------------------------------------------


def numbered(content: str, start: int = 1) -> str:
    return "\n".join(f"{i}\t{ln}" for i, ln in enumerate(content.split("\n"), start=start))


def pytest_output(rng: Rng, project: Project, fail: bool, verbose: bool) -> str:
    tests = project.tests()
    names = [(rng.choice(tests), f"test_{rng.ident()}") for _ in range(rng.randint(20, 260))]
    lines = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.11.9, pytest-8.3.4, pluggy-1.5.0",
        f"rootdir: {CWD}",
        "configfile: pyproject.toml",
        "plugins: anyio-4.4.0, cov-5.0.0",
        f"collected {len(names)} items",
        "",
    ]
    failed = rng.sample(range(len(names)), rng.randint(1, 4)) if fail else []
    if verbose:
        for i, (path, name) in enumerate(names):
            status = "FAILED" if i in failed else "PASSED"
            pct = f"[{(i + 1) * 100 // len(names):3d}%]"
            lines.append(f"{path}::{name} {status}".ljust(70) + pct)
    else:
        by_file: dict[str, str] = {}
        for i, (path, _) in enumerate(names):
            by_file[path] = by_file.get(path, "") + ("F" if i in failed else ".")
        lines += [f"{p} {dots}" for p, dots in by_file.items()]
    if failed:
        lines += [
            "",
            "=================================== FAILURES ===================================",
        ]
        for i in failed:
            path, name = names[i]
            mod = rng.choice(project.modules())
            exc = rng.choice(EXCEPTIONS)
            lines += [
                f"_________________________________ {name} _________________________________",
                "",
                f"    def {name}():",
                f"        {rng.word()} = {rng.ident()}({rng.word()!r})",
                f'>       assert {rng.word()} == Decimal("{rng.randint(1, 99)}.50")',
                "",
                f"{path}:{rng.randint(5, 200)}: ",
                "_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _",
                "",
                f"    def {rng.ident()}({rng.word()}, {rng.word()}):",
                f"        {rng.word()} = {rng.word()}.{rng.ident()}()",
                f">       return {rng.word()}[{rng.word()!r}]",
                f"E       {exc}: {rng.sentence(3, 9)}",
                "",
                f"{mod}:{rng.randint(5, 300)}: {exc.split('.')[-1]}",
            ]
        lines += [
            "=========================== short test summary info ============================"
        ]
        for i in failed:
            path, name = names[i]
            lines.append(f"FAILED {path}::{name} - AssertionError: {rng.sentence(3, 7)}")
        summary = f"{len(failed)} failed, {len(names) - len(failed)} passed"
    else:
        summary = f"{len(names)} passed"
    lines.append(
        f"======================== {summary} in {rng.uniform(0.4, 30):.2f}s ========================"
    )
    return "\n".join(lines)


def traceback_output(rng: Rng, project: Project) -> str:
    frames = [
        f'  File "{CWD}/{rng.choice(project.modules())}", line {rng.randint(5, 300)}, in {rng.ident()}\n    {rng.word()} = {rng.ident()}({rng.word()})'
        for _ in range(rng.randint(3, 12))
    ]
    exc = rng.choice(EXCEPTIONS)
    return (
        "Traceback (most recent call last):\n"
        + "\n".join(frames)
        + f"\n{exc}: {rng.sentence(3, 10)}"
    )


def lint_output(rng: Rng, project: Project) -> str:
    rules = [
        "F401 `os` imported but unused",
        "E711 Comparison to `None` should be `cond is None`",
        "B006 Do not use mutable data structures for argument defaults",
        "UP007 Use `X | Y` for type annotations",
        "F841 Local variable `result` is assigned to but never used",
    ]
    lines = [
        f"{rng.choice(project.sources())}:{rng.randint(1, 300)}:{rng.randint(1, 60)}: {rng.choice(rules)}"
        for _ in range(rng.randint(2, 40))
    ]
    return (
        "\n".join(lines)
        + f"\nFound {len(lines)} errors.\n[*] {len(lines) // 2} fixable with the `--fix` option."
    )


def mypy_output(rng: Rng, project: Project) -> str:
    lines = [
        f'{rng.choice(project.sources())}:{rng.randint(1, 300)}: error: Argument 1 to "{rng.ident()}" has incompatible type "str"; expected "Decimal"  [arg-type]'
        for _ in range(rng.randint(1, 25))
    ]
    return (
        "\n".join(lines)
        + f"\nFound {len(lines)} errors in {min(len(lines), 7)} files (checked 41 source files)"
    )


def pip_output(rng: Rng) -> str:
    pkgs = [
        "httpx",
        "pydantic",
        "pydantic-core",
        "sqlalchemy",
        "click",
        "anyio",
        "idna",
        "certifi",
        "h11",
        "sniffio",
        "typing-extensions",
        "greenlet",
        "annotated-types",
        "pytest",
        "pluggy",
        "iniconfig",
        "packaging",
        "coverage",
    ]
    lines = []
    for p in rng.sample(pkgs, rng.randint(6, len(pkgs))):
        v = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        lines += [
            f"Collecting {p}>={v}",
            f"  Downloading {p.replace('-', '_')}-{v}-py3-none-any.whl ({rng.randint(20, 900)} kB)",
            f"     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ {rng.randint(20, 900)}.0/{rng.randint(20, 900)}.0 kB {rng.uniform(1, 40):.1f} MB/s eta 0:00:00",
        ]
    lines.append("Installing collected packages: " + ", ".join(pkgs[:8]))
    lines.append(
        "Successfully installed " + " ".join(f"{p}-1.{rng.randint(0, 9)}.0" for p in pkgs[:8])
    )
    return "\n".join(lines)


def git_output(rng: Rng, project: Project, kind: str) -> str:
    if kind == "status":
        files = rng.sample(project.sources(), rng.randint(1, 6))
        return (
            f'On branch {BRANCH}\nChanges not staged for commit:\n  (use "git add <file>..." to update what will be committed)\n'
            + "\n".join(f"\tmodified:   {f}" for f in files)
            + '\n\nno changes added to commit (use "git add" and/or "git commit -a")'
        )
    if kind == "log":
        return "\n".join(
            f"{rng.randbytes(4).hex()[:7]} {rng.sentence(4, 10)}"
            for _ in range(rng.randint(10, 60))
        )
    path = rng.choice(project.sources())
    body = project.files[path].split("\n")
    start = rng.randrange(max(1, len(body) - 20))
    hunk = body[start : start + rng.randint(8, 40)]
    diff = [
        f"diff --git a/{path} b/{path}",
        f"index {rng.randbytes(4).hex()[:7]}..{rng.randbytes(4).hex()[:7]} 100644",
        f"--- a/{path}",
        f"+++ b/{path}",
        f"@@ -{start},{len(hunk)} +{start},{len(hunk) + 2} @@",
    ]
    for ln in hunk:
        r = rng.random()
        diff.append(("-" if r < 0.1 else "+" if r < 0.2 else " ") + ln)
    return "\n".join(diff)


# --------------------------------------------------------------------------------------------
# The session
# --------------------------------------------------------------------------------------------


@dataclass
class ToolRun:
    name: str
    input: dict[str, Any]
    content: Any  # tool_result content (str or list)
    is_error: bool
    result: Any  # toolUseResult
    progress: int = 0  # bash_progress lines
    edited: tuple[str, str] | None = None  # (path, content before) of a successful edit


class Generator:
    def __init__(self, out: Path, target: int, seed: int) -> None:
        self.rng = Rng(seed)
        rng = self.rng
        self.out = out
        self.target = target
        self.t = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
        self.secrets = Secrets.make(rng)
        self.truth = Truth(session_id=rng.uuid4(), secrets=self.secrets.values())
        self.project = Project(rng, self.secrets)
        base = out / "projects" / PROJECT_DIR
        self.main_path = base / f"{self.truth.session_id}.jsonl"
        self.sub_dir = base / self.truth.session_id / "subagents"
        self.writers: list[Writer] = []
        self.main = Thread(self, self._writer(self.main_path))
        self.episodes = 0
        self.since_compact = 0
        self.pending_correction = False
        self.secret_prompt_done = False
        self.read_images = 0

    def _writer(self, path: Path) -> Writer:
        w = Writer(path, self.truth)
        self.writers.append(w)
        return w

    @property
    def size(self) -> int:
        return sum(w.bytes for w in self.writers)

    def clock(self, kind: str) -> str:
        step = self.rng.uniform(0.02, 0.4) if kind == "progress" else self.rng.uniform(0.3, 25)
        self.t += timedelta(seconds=step)
        return self.t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.t.microsecond // 1000:03d}Z"

    def abs(self, rel: str) -> str:
        return f"{CWD}/{rel}"

    # ---- tools -----------------------------------------------------------------------------

    def tool(self, name: str, episode: int, forced: str = "") -> ToolRun:
        return getattr(self, f"_tool_{name.lower()}")(episode, forced)

    def _tool_read(self, episode: int, forced: str = "") -> ToolRun:
        rng, proj = self.rng, self.project
        if rng.random() < 0.012 or forced == "image":
            path = rng.choice(proj.images)
            data = rng.b64(rng.randint(20_000, 180_000))
            content = [
                {
                    "type": "image",
                    "source": {"type": "base64", "data": data, "media_type": "image/png"},
                }
            ]
            result = {
                "type": "image",
                "file": {"base64": data, "type": "image/png", "originalSize": len(data) * 3 // 4},
            }
            return ToolRun("Read", {"file_path": self.abs(path)}, content, False, result)
        if rng.random() < 0.03:
            path = f"src/ledgerline/{rng.word()}_{rng.word()}.py"
            return ToolRun(
                "Read",
                {"file_path": self.abs(path)},
                "<tool_use_error>File does not exist.</tool_use_error>",
                True,
                "Error: File does not exist.",
            )
        path = forced or rng.choice(list(proj.files))
        text = proj.files[path]
        lines = text.split("\n")
        inp: dict[str, Any] = {"file_path": self.abs(path)}
        start, part = 1, lines
        if len(lines) > 40 and rng.random() < 0.25:
            start = rng.randint(1, len(lines) - 20)
            part = lines[start - 1 : start - 1 + rng.randint(10, 60)]
            inp.update(offset=start, limit=len(part))
        body = "\n".join(part)
        result = {
            "type": "text",
            "file": {
                "filePath": self.abs(path),
                "content": body,
                "numLines": len(part),
                "startLine": start,
                "totalLines": len(lines),
            },
        }
        return ToolRun("Read", inp, numbered(body, start), False, result)

    def _tool_edit(self, episode: int, forced: str = "") -> ToolRun:
        rng, proj = self.rng, self.project
        path = forced or rng.choice(proj.sources())
        text = proj.files[path]
        lines = text.split("\n")
        start = rng.randrange(max(1, len(lines) - 8))
        old = "\n".join(lines[start : start + rng.randint(2, 7)])
        inp = {
            "replace_all": False,
            "file_path": self.abs(path),
            "old_string": old,
            "new_string": "",
        }
        if rng.random() < 0.08 or not old.strip():
            inp["old_string"] = old.replace("    ", "  ") + f"\n    {rng.word()}()"
            inp["new_string"] = inp["old_string"] + f"\n    {rng.ident()}()"
            msg = f"String to replace not found in file.\nString: {inp['old_string']}"
            return ToolRun(
                "Edit", inp, f"<tool_use_error>{msg}</tool_use_error>", True, f"Error: {msg}"
            )
        new_lines = [ln.replace(rng.word(), rng.word()) for ln in old.split("\n")]
        new_lines += _stmt(rng, "    ")
        new = "\n".join(new_lines)
        inp["new_string"] = new
        updated = text.replace(old, new, 1)
        proj.files[path] = updated
        patch = [
            {
                "oldStart": start + 1,
                "oldLines": old.count("\n") + 1,
                "newStart": start + 1,
                "newLines": new.count("\n") + 1,
                "lines": [f"-{x}" for x in old.split("\n")] + [f"+{x}" for x in new_lines],
            }
        ]
        result = {
            "filePath": self.abs(path),
            "oldString": old,
            "newString": new,
            "originalFile": text,
            "structuredPatch": patch,
            "userModified": False,
            "replaceAll": False,
        }
        content = f"The file {self.abs(path)} has been updated successfully."
        run = ToolRun("Edit", inp, content, False, result)
        run.edited = (path, text)
        return run

    def _tool_write(self, episode: int, forced: str = "") -> ToolRun:
        rng, proj = self.rng, self.project
        name = rng.choice(MODULES).split("/")[-1]
        path = (
            f"tests/test_{name}_{rng.word()}.py"
            if rng.random() < 0.6
            else f"docs/{rng.word()}-{rng.word()}.md"
        )
        text = make_test_module(rng, name) if path.endswith(".py") else rng.prose(500, 3000)
        before = proj.files.get(path)
        proj.files[path] = text
        result = {
            "type": "update" if before else "create",
            "filePath": self.abs(path),
            "content": text,
            "structuredPatch": [],
            "originalFile": before,
        }
        run = ToolRun(
            "Write",
            {"file_path": self.abs(path), "content": text},
            f"File created successfully at: {self.abs(path)}",
            False,
            result,
        )
        run.edited = (path, before or "")
        return run

    def _tool_grep(self, episode: int, forced: str = "") -> ToolRun:
        rng, proj = self.rng, self.project
        pattern = rng.choice(
            [rng.ident(), f"def {rng.ident()}", f"class {rng.word().title()}", "Decimal\\("]
        )
        hits = []
        for _ in range(rng.randint(0, 60)):
            path = rng.choice(proj.sources())
            lines = proj.files[path].split("\n")
            n = rng.randrange(len(lines))
            hits.append(f"{self.abs(path)}:{n + 1}:{lines[n]}")
        content = "\n".join(hits) or "No matches found"
        result = {
            "mode": "content",
            "numFiles": len({h.split(":")[0] for h in hits}),
            "filenames": [],
            "content": content,
            "numLines": len(hits),
        }
        return ToolRun(
            "Grep",
            {"pattern": pattern, "output_mode": "content", "-n": True},
            content,
            False,
            result,
        )

    def _tool_glob(self, episode: int, forced: str = "") -> ToolRun:
        rng, proj = self.rng, self.project
        names = rng.sample(list(proj.files), rng.randint(3, min(30, len(proj.files))))
        content = "\n".join(self.abs(n) for n in names)
        result = {
            "filenames": [self.abs(n) for n in names],
            "durationMs": rng.randint(3, 90),
            "numFiles": len(names),
            "truncated": False,
        }
        return ToolRun(
            "Glob",
            {"pattern": rng.choice(["**/*.py", "tests/**/test_*.py", "src/**/*.py", "**/*.md"])},
            content,
            False,
            result,
        )

    def _tool_todowrite(self, episode: int, forced: str = "") -> ToolRun:
        rng = self.rng
        todos = [
            {
                "content": rng.sentence(4, 10),
                "status": rng.choice(["pending", "in_progress", "completed"]),
                "activeForm": rng.sentence(3, 8),
            }
            for _ in range(rng.randint(3, 8))
        ]
        content = "Todos have been modified successfully. Ensure that you continue to use the todo list to track your progress. Please proceed with the current tasks if applicable"
        return ToolRun(
            "TodoWrite",
            {"todos": todos},
            content,
            False,
            {"oldTodos": todos[1:], "newTodos": todos},
        )

    def _tool_bash(self, episode: int, forced: str = "") -> ToolRun:
        rng, proj = self.rng, self.project
        kind = (
            forced
            or rng.choices(
                [
                    "pytest",
                    "pytest-v",
                    "git-status",
                    "git-diff",
                    "git-log",
                    "ruff",
                    "mypy",
                    "pip",
                    "ls",
                    "script",
                    "cat",
                ],
                weights=[22, 8, 8, 8, 4, 6, 4, 3, 8, 6, 6],
            )[0]
        )
        code = 0
        if kind in ("pytest", "pytest-v"):
            fail = rng.random() < 0.35
            target = "" if rng.random() < 0.5 else " " + rng.choice(proj.tests())
            cmd = f"python -m pytest{' -v' if kind == 'pytest-v' else ' -q'}{target}"
            out, code = pytest_output(rng, proj, fail, kind == "pytest-v"), (1 if fail else 0)
        elif kind.startswith("git"):
            sub = kind.split("-")[1]
            cmd = {"status": "git status", "diff": "git diff", "log": "git log --oneline -n 60"}[
                sub
            ]
            out = git_output(rng, proj, sub)
        elif kind == "ruff":
            cmd = "ruff check src tests"
            out, code = (
                (lint_output(rng, proj), 1) if rng.random() < 0.5 else ("All checks passed!", 0)
            )
        elif kind == "mypy":
            cmd = "mypy src"
            out, code = (
                (mypy_output(rng, proj), 1)
                if rng.random() < 0.5
                else ("Success: no issues found in 41 source files", 0)
            )
        elif kind == "pip":
            cmd = "pip install -e '.[dev]'"
            out = pip_output(rng)
        elif kind == "ls":
            cmd = rng.choice(
                ["ls -la src/ledgerline", "find . -name '*.py' -not -path './.venv/*'"]
            )
            out = "\n".join(
                f"-rw-r--r--  1 dev dev {rng.randint(100, 30000):6d} Jan 12 09:{rng.randint(10, 59)} {p}"
                for p in rng.sample(list(proj.files), min(len(proj.files), rng.randint(5, 30)))
            )
        elif kind == "script":
            cmd = f"python -m ledgerline.cli {rng.choice(['reconcile', 'export', 'import'])} --{rng.word()} {rng.word()}.csv"
            out, code = traceback_output(rng, proj), 1
        elif kind == "env":
            cmd = "env | sort | grep -v PATH"
            out = f"HOME=/home/dev\nAWS_ACCESS_KEY_ID={self.secrets.aws_id}\nAWS_SECRET_ACCESS_KEY={self.secrets.aws_secret}\nGITHUB_TOKEN={self.secrets.github}\nLANG=C.UTF-8\nSHELL=/bin/bash\nUSER=dev"
        elif kind == "dotenv":
            cmd = "cat .env"
            out = self.secrets.env_file().rstrip("\n")
        else:
            path = rng.choice(list(proj.files))
            cmd = f"cat {path} | head -n 80"
            out = "\n".join(proj.files[path].split("\n")[:80])
        description = rng.sentence(3, 8)[:-1]
        inp = {"command": cmd, "description": description}
        if code:
            content = f"Exit code {code}\n{out}"
            return ToolRun(
                "Bash", inp, content, True, f"Error: {content}", progress=rng.randint(1, 12)
            )
        if len(out) > 30_000:  # large outputs are persisted, the transcript keeps a preview
            out = f"<persisted-output>\nOutput too large ({len(out) / 1024:.1f}KB). Full output saved to: {CWD}/.claude/tool-results/{rng.b62(12)}.txt\n\nPreview (first 2KB):\n{out[:2000]}\n</persisted-output>"
        result = {
            "stdout": out,
            "stderr": "",
            "interrupted": False,
            "isImage": False,
            "noOutputExpected": False,
        }
        return ToolRun(
            "Bash",
            inp,
            out,
            False,
            result,
            progress=rng.randint(0, 10) if kind in ("pytest", "pytest-v", "pip", "mypy") else 0,
        )

    # ---- turns -----------------------------------------------------------------------------

    def thinking(self) -> dict[str, Any]:
        rng = self.rng
        text = "" if rng.random() < 0.6 else rng.prose(150, 2500)  # 2.1.x: over half are empty
        return {"type": "thinking", "thinking": text, "signature": rng.b64(rng.randint(200, 900))}

    def run_tools(
        self, thread: Thread, runs: list[tuple[str, ToolRun]], source: str
    ) -> list[ToolRun]:
        for tool_id, run in runs:
            if run.name in (
                "Bash",
                "Edit",
                "Write",
            ):  # the project has PreToolUse/PostToolUse hooks
                thread.progress(
                    {
                        "type": "hook_progress",
                        "hookEvent": "PreToolUse",
                        "hookName": f"PreToolUse:{run.name}",
                        "command": "python3 .claude/hooks/guard.py",
                    },
                    tool_id,
                    tool_id,
                )
            full = ""
            text = run.content if isinstance(run.content, str) else ""
            out_lines = text.split("\n")
            for k in range(run.progress):
                upto = out_lines[: (k + 1) * len(out_lines) // (run.progress + 1)]
                full = "\n".join(upto)[-4000:]
                thread.progress(
                    {
                        "type": "bash_progress",
                        "output": "\n".join(upto[-5:]),
                        "fullOutput": full,
                        "elapsedTimeSeconds": k + 3,
                        "totalLines": len(upto),
                        "totalBytes": len(full),
                    },
                    f"bash-progress-{k}",
                    tool_id,
                )
            if run.name in ("Edit", "Write"):
                thread.progress(
                    {
                        "type": "hook_progress",
                        "hookEvent": "PostToolUse",
                        "hookName": f"PostToolUse:{run.name}",
                        "command": 'ruff format "$CLAUDE_FILE_PATHS"',
                    },
                    tool_id,
                    tool_id,
                )
            thread.tool_result(tool_id, run.content, run.is_error, run.result, source)
            if run.name in EDIT_TOOLS:
                self.truth.edited_paths.add(run.input["file_path"][len(CWD) + 1 :])
        return [r for _, r in runs]

    def pick_tool(self, subagent: bool) -> str:
        names = ["Read", "Bash", "Edit", "Grep", "Glob", "Write", "TodoWrite"]
        weights = [30, 26, 18, 8, 4, 3, 4] if not subagent else [40, 20, 6, 20, 10, 1, 0]
        return self.rng.choices(names, weights=weights)[0]

    def agent_round(
        self,
        thread: Thread,
        episode: int,
        subagent: bool,
        forced: list[tuple[str, str]] | None = None,
    ) -> tuple[str, list[ToolRun], list[str]]:
        """One response with tool calls and their results. Returns (last uuid, runs, tool ids)."""
        rng = self.rng
        blocks: list[dict[str, Any]] = []
        if rng.random() < 0.55:
            blocks.append(self.thinking())
        if rng.random() < 0.7:
            blocks.append({"type": "text", "text": rng.prose(40, 400)})
        planned = forced or [
            (self.pick_tool(subagent), "")
            for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 3))
        ]
        runs: list[tuple[str, ToolRun]] = []
        for name, arg in planned:
            run = self.tool(name, episode, arg)
            tool_id = "toolu_01" + rng.b62(22)
            blocks.append({"type": "tool_use", "id": tool_id, "name": run.name, "input": run.input})
            runs.append((tool_id, run))
        source = thread.response(blocks, "tool_use")
        return source, self.run_tools(thread, runs, source), [t for t, _ in runs]

    def subagent(self, episode: int) -> None:
        rng = self.rng
        kind = rng.choice(["Explore", "Explore", "general-purpose"])
        description = f"{rng.choice(VERBS).title()} {rng.word()} {rng.word()} handling"
        prompt = f"{rng.prose(300, 1500)}\n\nReport the file paths and line numbers you relied on."
        agent_id = rng.randbytes(8).hex()[: 17 if rng.random() < 0.5 else 7]
        tool_id = "toolu_01" + rng.b62(22)
        source = self.main.response(
            [
                {"type": "text", "text": rng.prose(40, 200)},
                {
                    "type": "tool_use",
                    "id": tool_id,
                    "name": "Task",
                    "input": {"description": description, "prompt": prompt, "subagent_type": kind},
                },
            ],
            "tool_use",
        )
        (self.sub_dir / f"agent-{agent_id}.meta.json").parent.mkdir(parents=True, exist_ok=True)
        (self.sub_dir / f"agent-{agent_id}.meta.json").write_bytes(
            orjson.dumps({"agentType": kind, "description": description})
        )
        sub = Thread(self, self._writer(self.sub_dir / f"agent-{agent_id}.jsonl"), agent_id)
        sub.mirror = (self.main, tool_id, prompt)
        sub.user(prompt)
        self.truth.prompts.append({"text": prompt, "agent": f"agent-{agent_id}"})
        for _ in range(rng.randint(3, 14)):
            if kind == "general-purpose" and rng.random() < 0.15:
                self.agent_round(sub, episode, True, [("Edit", "")])
            else:
                self.agent_round(sub, episode, True)
        report = "## Findings\n\n" + "\n".join(
            f"- `{rng.choice(self.project.sources())}:{rng.randint(1, 300)}` {rng.sentence(6, 20)}"
            for _ in range(rng.randint(5, 25))
        )
        sub.response([{"type": "text", "text": report}], "end_turn")
        sub.w.close()
        content = [
            {"type": "text", "text": report},
            {
                "type": "text",
                "text": f"agentId: {agent_id} (for resuming to continue this agent's work if needed)",
            },
        ]
        usage = {
            "input_tokens": rng.randint(1, 50),
            "output_tokens": rng.randint(500, 5000),
            "cache_read_input_tokens": rng.randint(10_000, 90_000),
        }
        result = {
            "status": "completed",
            "prompt": prompt,
            "agentId": agent_id,
            "content": content[:1],
            "totalDurationMs": rng.randint(10_000, 200_000),
            "totalTokens": rng.randint(10_000, 90_000),
            "totalToolUseCount": rng.randint(3, 14),
            "usage": usage,
        }
        self.main.tool_result(tool_id, content, False, result, source)

    def prompt_text(self) -> str:
        rng, proj = self.rng, self.project
        if self.pending_correction or (self.episodes > 0 and rng.random() < 0.15):
            self.pending_correction = False
            return rng.choice(
                [
                    f"No, don't touch {rng.choice(proj.modules())} - use the existing {rng.ident()} helper instead.",
                    f"That's wrong: amounts must stay Decimal, never float. {rng.sentence()}",
                    f"Stop - revert that change to {rng.choice(proj.sources())}, we always go through the {rng.word()} layer.",
                    f"Actually, use {rng.ident()}() rather than {rng.ident()}(); {rng.sentence()}",
                ]
            )
        if not self.secret_prompt_done and self.episodes >= 2:
            self.secret_prompt_done = True
            return f"The deploy job fails with 401. CI has GITHUB_TOKEN={self.secrets.github} set - is the {rng.word()} step using it? {rng.sentence()}"
        r = rng.random()
        if r < 0.1:  # a pasted log
            return f"{rng.sentence()} Here is the log:\n\n{traceback_output(rng, proj)}\n\n{pytest_output(rng, proj, True, False)[-1500:]}"
        if r < 0.35:
            return f"{rng.prose(200, 900)}\n\nFiles: {rng.choice(proj.sources())}, {rng.choice(proj.tests())}"
        return f"{rng.choice(['Please', 'Can you', 'Now', 'Next,'])} {rng.choice(VERBS)} the {rng.word()} {rng.word()} in {rng.choice(proj.modules())}: {rng.prose(40, 300)}"

    def snapshot(self, message_id: str, update: bool, edited: list[tuple[str, str]]) -> None:
        rng = self.rng
        backups: dict[str, Any] = {}
        for path, before in edited:
            backups[path] = {
                "backupFileName": f"{rng.randbytes(8).hex()}@v{rng.randint(1, 9)}",
                "version": rng.randint(1, 9),
                "backupTime": self.clock("x"),
                "content": before,
            }
        if not update:
            for path in rng.sample(list(self.project.files), 4):
                backups[path] = {
                    "backupFileName": None,
                    "version": 1,
                    "backupTime": self.clock("x"),
                }
        if self.episodes == 1:  # .env is tracked once: a secret inside a snapshot
            backups[".env"] = {
                "backupFileName": "e3b0c44298fc1c14@v1",
                "version": 1,
                "backupTime": self.clock("x"),
                "content": self.project.files[".env"],
            }
        entry = {
            "type": "file-history-snapshot",
            "messageId": message_id,
            "snapshot": {
                "messageId": message_id,
                "trackedFileBackups": backups,
                "timestamp": self.clock("x"),
            },
            "isSnapshotUpdate": update,
        }
        self.main.w.write(entry)

    def meta_command(self) -> None:
        rng, main = self.rng, self.main
        main.user(
            "<local-command-caveat>Caveat: The messages below were generated by the user while running local commands. DO NOT respond to these messages or otherwise consider them in your response unless the user explicitly asks you to.</local-command-caveat>",
            isMeta=True,
        )
        if rng.random() < 0.5:
            name = rng.choice(["model", "cost", "context", "status"])
            main.user(
                f"<command-name>/{name}</command-name>\n            <command-message>{name}</command-message>\n            <command-args></command-args>"
            )
            main.user(f"<local-command-stdout>{rng.sentence(4, 12)}</local-command-stdout>")
        else:
            name = rng.choice(["review", "fix-tests", "plan"])
            main.user(
                f"<command-message>{name} is running…</command-message>\n<command-name>/{name}</command-name>\n<command-args>{rng.word()}</command-args>"
            )
            main.user(
                [{"type": "text", "text": f"# /{name}\n\n{rng.prose(800, 4000)}"}], isMeta=True
            )

    def compaction(self) -> None:
        rng, main = self.rng, self.main
        logical = main.parent
        main.parent = None
        entry = main.envelope(
            "system",
            subtype="compact_boundary",
            content="Conversation compacted",
            isMeta=False,
            level="info",
            compactMetadata={"trigger": "auto", "preTokens": rng.randint(150_000, 170_000)},
            logicalParentUuid=logical,
        )
        entry["parentUuid"] = None
        main.emit(entry)
        summary = (
            "This session is being continued from a previous conversation that ran out of context. The conversation is summarized below:\nAnalysis:\n"
            + "\n".join(f"{i}. {rng.prose(200, 700)}" for i in range(1, rng.randint(5, 12)))
        )
        main.user(summary, isCompactSummary=True, isVisibleInTranscriptOnly=True)
        self.since_compact = 0

    def episode(self) -> None:
        rng, main = self.rng, self.main
        start_size = self.size
        if rng.random() < 0.12:
            self.meta_command()
        text = self.prompt_text()
        content: Any = text
        if rng.random() < 0.04:
            content = [
                {"type": "text", "text": text},
                {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": "image/png",
                        "data": rng.b64(rng.randint(40_000, 300_000)),
                    },
                },
            ]
        elif rng.random() < 0.05:  # a reminder block before the typed text (older versions)
            content = [
                {
                    "type": "text",
                    "text": f"<system-reminder>\n{rng.prose(200, 800)}\n</system-reminder>",
                },
                {"type": "text", "text": text},
            ]
        prompt = main.user(content)
        self.truth.prompts.append({"text": text, "agent": ""})
        self.snapshot(prompt["uuid"], False, [])
        if rng.random() < 0.5:
            main.w.write(
                {
                    "type": "last-prompt",
                    "lastPrompt": text[:200],
                    "leafUuid": prompt["uuid"],
                    "sessionId": self.truth.session_id,
                }
            )
        edited: list[tuple[str, str]] = []
        rounds = min(int(rng.expovariate(1 / 6)) + 1, 30)
        if rng.random() < 0.02:  # an API error the CLI wrote itself
            main.system(
                "api_error",
                level="error",
                error={
                    "status": 529,
                    "error": {"type": "overloaded_error", "message": "Overloaded"},
                },
                retryInMs=rng.randint(500, 8000),
                retryAttempt=1,
                maxRetries=10,
            )
            err = main.envelope(
                "assistant",
                message={
                    "id": rng.uuid4(),
                    "type": "message",
                    "role": "assistant",
                    "model": "<synthetic>",
                    "content": [
                        {
                            "type": "text",
                            "text": 'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
                        }
                    ],
                    "stop_reason": "stop_sequence",
                    "stop_sequence": "",
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                },
                isApiErrorMessage=True,
            )
            main.emit(err)
        interrupted = False
        for r in range(rounds):
            if r == 0 and self.episodes == 1:
                forced = [("Bash", "dotenv")]
            elif r == 0 and self.episodes == 5:
                forced = [("Bash", "env")]
            elif r == 1 and self.episodes % 11 == 3 and self.read_images < 3:
                self.read_images += 1
                forced = [("Read", "image")]
            else:
                forced = None
            if r == 0 and rng.random() < 0.12:
                self.subagent(self.episodes)
                continue
            if rng.random() < 0.025:  # the user rejects a tool use and redirects
                tool_id = "toolu_01" + rng.b62(22)
                run = self.tool("Edit", self.episodes)
                if run.edited:  # rejected: undo the change
                    self.project.files[run.edited[0]] = run.edited[1]
                source = main.response(
                    [{"type": "tool_use", "id": tool_id, "name": "Edit", "input": run.input}],
                    "tool_use",
                )
                rejected = "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file edit, the new_string was NOT written to the file). STOP what you are doing and wait for the user to tell you how to proceed."
                main.tool_result(tool_id, rejected, True, "User rejected tool use", source)
                self.truth.edited_paths.add(run.input["file_path"][len(CWD) + 1 :])
                main.user([{"type": "text", "text": "[Request interrupted by user for tool use]"}])
                interrupted = True
                break
            _, runs, _ = self.agent_round(main, self.episodes, False, forced)
            edited += [run.edited for run in runs if run.edited]
        if not interrupted:
            if rng.random() < 0.03:
                main.response([{"type": "text", "text": rng.prose(100, 400)}], "end_turn")
                main.user([{"type": "text", "text": "[Request interrupted by user]"}])
                interrupted = True
            else:
                blocks = [self.thinking()] if rng.random() < 0.3 else []
                blocks.append({"type": "text", "text": rng.prose(150, 2000)})
                main.response(blocks, "end_turn")
        self.pending_correction = interrupted
        main.system("turn_duration", durationMs=rng.randint(2_000, 600_000), isMeta=False)
        if edited:
            self.snapshot(prompt["uuid"], True, edited)
        self.episodes += 1
        self.since_compact += self.size - start_size
        if self.since_compact > min(1_500_000, self.target // 2):
            self.compaction()

    def run(self) -> Truth:
        rng, main = self.rng, self.main
        for _ in range(rng.randint(2, 4)):  # summaries of earlier sessions, leafUuid elsewhere
            main.w.write(
                {
                    "type": "summary",
                    "summary": f"{rng.choice(VERBS).title()} {rng.word()} {rng.word()} in ledgerline",
                    "leafUuid": rng.uuid4(),
                }
            )
        while self.size < self.target:
            self.episode()
        main.w.write({"type": "mode", "mode": "normal", "sessionId": self.truth.session_id})
        for w in self.writers:
            w.close()
        return self.truth


def generate(out: Path, target: int, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Generate one session of about ``target`` bytes (all files together) under ``out``."""
    gen = Generator(out, target, seed)
    truth = gen.run()
    files = [w.path for w in gen.writers]
    data = {
        "gen_version": GEN_VERSION,
        "seed": seed,
        "target_bytes": target,
        "cwd": CWD,
        "session_id": truth.session_id,
        "main": str(gen.main_path.relative_to(out)),
        "files": [str(p.relative_to(out)) for p in files],
        "bytes_total": sum(p.stat().st_size for p in files),
        "bytes_main": gen.main_path.stat().st_size,
        "lines": truth.lines,
        "episodes": gen.episodes,
        "prompts": truth.prompts,
        "tool_results": truth.tool_results,
        "tool_errors": truth.tool_errors,
        "edited_paths": sorted(truth.edited_paths),
        "secrets": truth.secrets,
        "composition": dict(sorted(truth.composition.items(), key=lambda kv: -kv[1])),
    }
    (out / "truth.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return data


def source_hash() -> str:
    """Changes whenever this generator does: part of the cache key."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def ensure(cache: Path, label: str, seed: int = DEFAULT_SEED) -> tuple[Path, dict[str, Any]]:
    """The cached input for ``label`` (1MB, 10MB, 100MB), generated if missing."""
    out = cache / f"gen{GEN_VERSION}-{source_hash()}-seed{seed}" / label
    truth_path = out / "truth.json"
    if not truth_path.exists():
        if out.exists():
            import shutil

            shutil.rmtree(out)
        generate(out, SIZES[label], seed)
    truth = orjson.loads(truth_path.read_bytes())
    return out / truth["main"], truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1MB", help=f"one of {', '.join(SIZES)} or a byte count")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    target = SIZES.get(args.size) or int(args.size)
    data = generate(args.out, target, args.seed)
    print(f"{data['bytes_total']:,} bytes in {len(data['files'])} file(s), {data['lines']:,} lines")
    print(f"main: {args.out / data['main']}")
    print(f"truth: {args.out / 'truth.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
