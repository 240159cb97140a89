"""Regenerate the example transcripts in examples/ from the REAL Claude Code CLI.

    /tmp/v/bin/python examples/generate.py            # all scenarios
    /tmp/v/bin/python examples/generate.py nothing-to-learn

For each scenario this creates a throwaway git repository (a tiny Python project with a
function and a pytest test), runs ``claude -p`` against the scripted loopback fake of the
Messages API (tests/fakes/anthropic_api.py) with tools really executing (Bash, Read, Edit), and
copies the transcript the CLI itself wrote under ``$CLAUDE_CONFIG_DIR/projects/<encoded cwd>/``
to ``examples/<scenario>.jsonl`` (a ``<sessionId>/`` directory beside it - subagents, large
tool results - would go to ``examples/<scenario>/``). Only the model's words and tool calls are
scripted; every tool result, error message and transcript line is genuine CLI output.

Needs node/npm (the CLI is installed into $LEARN_TEST_CACHE or .nox/.cache/claude-code).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import string
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent
ROOT = EXAMPLES.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.anthropic_api import (  # noqa: E402
    FakeAnthropic,
    RecordedRequest,
    Reply,
    RequestContext,
    ScriptError,
    Text,
    Thinking,
    ToolUse,
)
from tests.fakes.claude_cli import (  # noqa: E402
    DEFAULT_VERSION,
    claude_env,
    default_cache_dir,
    find_transcript,
    install_claude_cli,
)

MAX_BYTES = 200_000

# ------------------------------------------------------------------------------------------
# The throwaway project
# ------------------------------------------------------------------------------------------

# The sample project lives in examples/textkit/ (the demo session uses it too).
TEMPLATE = Path(__file__).resolve().parent / "textkit"
CORE_PY = (TEMPLATE / "textkit" / "core.py").read_text()

TEST_SLUGIFY_PY = """\
from textkit.core import slugify


def test_slugify_basic():
    assert slugify("Hello, World!") == "hello-world"


def test_slugify_collapses_spaces():
    assert slugify("  Many   spaces HERE ") == "many-spaces-here"
"""


def _fake_secrets() -> dict[str, str]:
    """Fixed fake credentials of real shapes (a ghp_ token has 36 alphanumerics after the
    prefix; the AWS pair is AWS's own documentation example), so redaction has work to do."""
    rnd = random.Random(20250219)
    ghp = "ghp_" + "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(36))
    return {
        "GITHUB_TOKEN": ghp,
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    }


def make_repo(path: Path) -> None:
    shutil.copytree(TEMPLATE, path)
    (path / ".env").write_text("".join(f"{k}={v}\n" for k, v in _fake_secrets().items()))
    git_env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    git = ["git", "-c", "user.name=Example Dev", "-c", "user.email=dev@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "textkit"]):
        subprocess.run([*git, *args], cwd=path, check=True, env=git_env)


# ------------------------------------------------------------------------------------------
# Script helpers
# ------------------------------------------------------------------------------------------


def expect(
    *needles: str, error: bool | None = None
) -> Callable[[Any], Callable[[RequestContext], Any]]:
    """Wrap a turn so it is only answered if the previous tool result looks as planned -
    the run stops with a ScriptError when the real CLI did something else."""

    def wrap(turn: Any) -> Callable[[RequestContext], Any]:
        def check(ctx: RequestContext) -> Any:
            results = ctx.tool_results()
            if not results:
                raise ScriptError(f"turn {ctx.turn}: expected a tool result")
            got = "\n".join(r.content for r in results)
            for n in needles:
                if n not in got:
                    raise ScriptError(f"turn {ctx.turn}: {n!r} not in tool result:\n{got[:2000]}")
            if error is not None and any(r.is_error for r in results) != error:
                raise ScriptError(f"turn {ctx.turn}: is_error != {error}:\n{got[:2000]}")
            return turn

        return check

    return wrap


def read(rel: str, offset: int | None = None, limit: int | None = None) -> ToolUse:
    extra = {k: v for k, v in (("offset", offset), ("limit", limit)) if v is not None}
    return ToolUse("Read", lambda c: {"file_path": c.path(rel), **extra})


def bash(command: str, description: str) -> ToolUse:
    return ToolUse("Bash", {"command": command, "description": description})


def edit(rel: str, old: str, new: str) -> ToolUse:
    return ToolUse(
        "Edit", lambda c: {"file_path": c.path(rel), "old_string": old, "new_string": new}
    )


# ------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------

SLUGIFY_RE = '''\
"""Small text helpers used by the textkit command line."""

import re


def word_count(text: str) -> int:
    """Return the number of whitespace-separated words in ``text``."""
    return len(text.split())


def slugify(text: str) -> str:
    """Lowercase ``text`` and join its words with hyphens, dropping punctuation."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))
'''

SLUGIFY_TRANSLATE = '''\
"""Small text helpers used by the textkit command line."""

import string

_DROP_PUNCTUATION = str.maketrans("", "", string.punctuation)


def word_count(text: str) -> int:
    """Return the number of whitespace-separated words in ``text``."""
    return len(text.split())


def slugify(text: str) -> str:
    """Lowercase ``text``, drop punctuation and join the words with hyphens."""
    return "-".join(text.lower().translate(_DROP_PUNCTUATION).split())
'''

# old/new strings for Edit end before the two blank lines that precede main()
CORE_TOP = CORE_PY.split("\n\n\ndef main")[0]
SLUGIFY_RE = SLUGIFY_RE.rstrip("\n")
SLUGIFY_TRANSLATE = SLUGIFY_TRANSLATE.rstrip("\n")


@dataclass
class Run:
    prompt: str
    script: list[Any]


@dataclass
class Scenario:
    name: str
    title: str  # answer to the CLI's title-generation side request (-> `ai-title` line)
    runs: list[Run]
    setup: Callable[[Path], None] = field(default=lambda repo: None)


def fix_failing_test_setup(repo: Path) -> None:
    (repo / "tests" / "test_slugify.py").write_text(TEST_SLUGIFY_PY)


FIX_FAILING_TEST = Scenario(
    name="fix-failing-test",
    title="Add slugify to textkit",
    setup=fix_failing_test_setup,
    runs=[
        Run(
            prompt=(
                "Add a slugify(text) function to textkit/core.py: lowercase, drop punctuation, "
                "join the words with hyphens. tests/test_slugify.py already describes it - make "
                "the test suite pass."
            ),
            script=[
                Reply(
                    Text("I'll look at the module and the new test first."),
                    read("textkit/core.py"),
                    read("tests/test_slugify.py"),
                ),
                expect("def word_count", "from textkit.core import slugify")(
                    Reply(
                        Text(
                            "`slugify` doesn't exist yet. Let me run the suite to see the "
                            "current state before changing anything."
                        ),
                        bash("python -m pytest -q", "Run the test suite"),
                    )
                ),
                expect("ImportError", "slugify", error=True)(
                    Reply(
                        Text(
                            "As expected the new test can't even import `slugify`. Before "
                            "writing it, let me check the project's environment settings in "
                            "case the tests depend on any of them."
                        ),
                        bash("cat .env", "Show the project's environment file"),
                    )
                ),
                expect("GITHUB_TOKEN")(
                    Reply(
                        Text(
                            "Nothing there matters for the tests. Adding `slugify` next to "
                            "`word_count`."
                        ),
                        edit(
                            "textkit/core.py",
                            "def word_count(text):\n    return len(text.split())\n",
                            "def word_count(text):\n    return len(text.split())\n\n\n"
                            "def slugify(text):\n"
                            '    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))\n',
                        ),
                    )
                ),
                expect("String to replace not found", error=True)(
                    Reply(
                        Text(
                            "The edit didn't match - `word_count` must look different from "
                            "what I assumed. Re-reading that part of the file."
                        ),
                        read("textkit/core.py", offset=4, limit=4),
                    )
                ),
                expect("Return the number of whitespace-separated words")(
                    Reply(
                        Text(
                            "It has type hints and a docstring. Editing with the exact text, "
                            "and importing `re` at the top."
                        ),
                        edit("textkit/core.py", CORE_TOP, SLUGIFY_RE),
                    )
                ),
                expect("has been updated")(bash("python -m pytest -q", "Run the test suite again")),
                expect("4 passed", error=False)(
                    Text(
                        "Done. I added `slugify()` to `textkit/core.py`: it lowercases the "
                        "text, keeps runs of letters and digits with a regex and joins them "
                        "with hyphens. All 4 tests pass (`python -m pytest -q`)."
                    )
                ),
            ],
        ),
        Run(
            prompt=(
                "No, don't use regex for this - use str.translate instead, the team avoids re "
                "for simple transforms."
            ),
            script=[
                Reply(
                    Thinking(
                        "The user wants str.translate rather than re. A translation table "
                        "built once at import time with str.maketrans that deletes "
                        "string.punctuation, then lower() and split() handle case and "
                        "whitespace. The re import goes away."
                    ),
                    Text(
                        "Understood - I'll switch to `str.translate` and drop the `re` "
                        "import. Checking the current file first."
                    ),
                    read("textkit/core.py"),
                ),
                expect("import re")(edit("textkit/core.py", SLUGIFY_RE, SLUGIFY_TRANSLATE)),
                expect("has been updated")(bash("python -m pytest -q", "Run the test suite")),
                expect("4 passed", error=False)(
                    Text(
                        "Switched `slugify()` to a `str.maketrans` table that deletes "
                        "`string.punctuation`, then lowercases and joins the words with "
                        "hyphens - no `re` any more. All 4 tests still pass."
                    )
                ),
            ],
        ),
    ],
)

NOTHING_TO_LEARN = Scenario(
    name="nothing-to-learn",
    title="Explain textkit main function",
    runs=[
        Run(
            prompt="What does this repo's main function do?",
            script=[
                Reply(
                    Text("Let me look at the entry point."),
                    read("textkit/core.py"),
                ),
                expect("def main")(
                    Text(
                        "`main()` in `textkit/core.py` (the `textkit` console script) reads "
                        "all of standard input, counts its whitespace-separated words with "
                        "`word_count()` and prints the number - `echo hi there | textkit` "
                        "prints `2`."
                    )
                ),
            ],
        )
    ],
)

SCENARIOS = {s.name: s for s in (FIX_FAILING_TEST, NOTHING_TO_LEARN)}


# ------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------


def cli_command(claude: Path, prompt: str, resume: str | None) -> list[str]:
    cmd = [
        str(claude),
        "-p",
        prompt,
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
    ]
    if resume:
        cmd += ["--resume", resume]
    return cmd


def run_scenario(claude: Path, sc: Scenario, work: Path) -> Path:
    repo = work / "textkit"
    home = work / "home"
    make_repo(repo)
    sc.setup(repo)
    session: str | None = None

    def side_reply(req: RecordedRequest) -> str:
        fmt = (req.json.get("output_config") or {}).get("format") or {}
        if "title" in ((fmt.get("schema") or {}).get("properties") or {}):
            return json.dumps({"title": sc.title})
        return "OK"

    with FakeAnthropic(side_reply=side_reply) as api:
        # python first on PATH so the transcript's `python -m pytest` finds pytest
        env = claude_env(
            api.base_url,
            home,
            PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        )
        # let the CLI make its usual title-generation side request, as in real sessions
        env.pop("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC")
        for i, run in enumerate(sc.runs):
            api.extend(run.script)
            cmd = cli_command(claude, run.prompt, session)
            shown = shlex.join(["claude", *cmd[1:]])
            print(f"[{sc.name}] run {i + 1}: {shown}", flush=True)
            proc = subprocess.run(
                cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=300
            )
            lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
            result = next((x for x in reversed(lines) if x.get("type") == "result"), None)
            if api.errors:
                raise SystemExit(f"[{sc.name}] script diverged: {api.errors[0]}")
            if proc.returncode != 0 or result is None or result.get("is_error"):
                raise SystemExit(
                    f"[{sc.name}] CLI failed rc={proc.returncode}\n"
                    f"{proc.stderr[-2000:]}\n{proc.stdout[-2000:]}"
                )
            if api.remaining:
                raise SystemExit(f"[{sc.name}] {api.remaining} scripted turns left unused")
            session = session or result["session_id"]
            if result["session_id"] != session:
                print(f"  note: resumed run reports session {result['session_id']}")
            kinds = Counter(r.kind for r in api.requests)
            print(f"  rc=0 turns={result['num_turns']} requests so far: {dict(kinds)}")
    assert session is not None
    transcript = find_transcript(home / ".claude", session)
    if transcript is None:
        raise SystemExit(f"[{sc.name}] no transcript for session {session} under {home}")
    return transcript


def check_transcript(path: Path) -> Counter[str]:
    types: Counter[str] = Counter()
    for n, line in enumerate(path.read_text().splitlines(), 1):
        obj = json.loads(line)  # genuine CLI output: every line is a JSON object
        if not isinstance(obj, dict) or "type" not in obj:
            raise SystemExit(f"{path}:{n}: not a transcript entry")
        types[obj["type"]] += 1
    if not types["user"] or not types["assistant"]:
        raise SystemExit(f"{path}: no user/assistant entries")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{path}: {size} bytes, over {MAX_BYTES}")
    return types


def publish(sc: Scenario, transcript: Path) -> Path:
    dest = EXAMPLES / f"{sc.name}.jsonl"
    extra_dest = EXAMPLES / sc.name
    dest.unlink(missing_ok=True)
    shutil.rmtree(extra_dest, ignore_errors=True)
    shutil.copyfile(transcript, dest)
    side = transcript.with_suffix("")  # <sessionId>/ : subagents/, tool-results/
    if side.is_dir() and any(p.is_file() for p in side.rglob("*")):
        shutil.copytree(side, extra_dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help=f"default: all of {', '.join(SCENARIOS)}"
    )
    ap.add_argument("--version", default=DEFAULT_VERSION, help="Claude Code version")
    ap.add_argument("--keep", action="store_true", help="keep the throwaway directories")
    args = ap.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    inst = install_claude_cli(default_cache_dir(), args.version)
    if inst.path is None:
        print(f"cannot get the Claude Code CLI: {inst.reason}", file=sys.stderr)
        return 2
    for name in args.scenarios or list(SCENARIOS):
        sc = SCENARIOS[name]
        work = Path(tempfile.mkdtemp(prefix=f"learn-example-{name}-"))
        try:
            transcript = run_scenario(inst.path, sc, work)
            dest = publish(sc, transcript)
            types = check_transcript(dest)
            print(f"  -> {dest.relative_to(ROOT)} ({dest.stat().st_size} bytes) {dict(types)}")
        finally:
            if args.keep:
                print(f"  kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
