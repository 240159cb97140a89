"""Which topic doc a lesson belongs in: a category and a slug derived from the commands, tools
and files involved (never from a prompt's wording), with a title and a "read when" line."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath

from learn.lessons import signals as sg
from learn.lessons.candidates import Candidate

__all__ = ["Topic", "topic_of"]


@dataclass(frozen=True, slots=True)
class Topic:
    category: str
    slug: str
    title: str
    read_when: str


_CI = re.compile(
    r"\.github/workflows|github actions|\bactions/[\w-]+@|\bworkflow\b|\bCI\b|gitlab-ci|"
    r"circleci|jenkins|hostedtoolcache|/home/runner/",
    re.I,
)
_GIT = re.compile(
    r"(?:^|&&\s*|\s)git (?:commit|add|push|tag|rebase|merge|checkout|switch|branch|stash|reset|"
    r"cherry-pick|pull)\b|commit message|co-authored-by|signature|\bcommits?\b|提交|コミット",
    re.I,
)
_MANAGERS = (
    "pnpm",
    "npm",
    "yarn",
    "bun",
    "pip",
    "uv",
    "poetry",
    "cargo",
    "composer",
    "bundle",
    "gem",
    "go",
    "nvm",
)
_DEPS = re.compile(
    r"\b(?:npm|pnpm|yarn|bun|pip3?|uv|poetry|cargo|composer|bundle|gem|go) (?:install|add|ci|"
    r"remove|uninstall|update|upgrade|sync|get|i)\b|lock ?file|lockfile|-lock\.(?:yaml|json)|"
    r"\.lock\b|node_modules|Cannot find (?:module|dependency|package)|ModuleNotFoundError|"
    r"No module named|\bnvm\b|requirements[\w-]*\.txt|peer dep",
    re.I,
)
_TEST_FILE = re.compile(r"(?:^|/)(?:tests?|spec|__tests__)/|[._-](?:test|spec)\.\w+$|/test_\w+\.py")
_BUILD = re.compile(
    r"\b(?:build|compile|lint|eslint|tsc|typecheck|type-check|mypy|pyright|ruff|flake8|"
    r"prettier|webpack|vite|docker|Dockerfile|make|cargo (?:build|check|clippy))\b",
    re.I,
)
_SHELL = re.compile(
    r"command not found|no matches found|Shell cwd|Permission denied|\bsudo\b|PowerShell|"
    r"\bzsh\b|\bbash\b|Windows|[A-Z]:\\|\$PATH|a terminal is required|not recognized as|"
    r"heredoc|quot(?:e|ing)|escap",
    re.I,
)
_HARNESS = re.compile(
    r"\bhooks?\b|BLOCKED|subagent|CLAUDE_\w+|Read it again|exceeds maximum allowed|"
    r"\.claude/|modified since read|EISDIR|tool_use|SendMessage",
    re.I,
)
_LANGUAGES = {
    ".py": "python",
    ".ts": "typescript",
    ".tsx": "react",
    ".jsx": "react",
    ".js": "javascript",
    ".mjs": "javascript",
    ".vue": "vue",
    ".svelte": "svelte",
    ".css": "styles",
    ".scss": "styles",
    ".sass": "styles",
    ".less": "styles",
    ".html": "html",
    ".php": "php",
    ".rb": "ruby",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "kotlin",
    ".swift": "swift",
    ".cs": "csharp",
    ".sql": "database",
    ".sh": "shell-scripts",
    ".md": "documentation",
    ".yml": "configuration",
    ".yaml": "configuration",
    ".json": "configuration",
    ".toml": "configuration",
}
_GENERAL = {
    "testing": ("running-tests", "Running the tests", "running or fixing the tests"),
    "build": ("building", "Building and checking", "building, linting or type-checking"),
    "dependencies": ("packages", "Dependencies", "installing, adding or upgrading dependencies"),
}
_TITLES = {
    "ci": ("CI workflows", "editing CI workflows or reading a CI failure"),
    "git": ("Git and commits", "committing, tagging or pushing"),
    "environment/shell": ("Shell and environment", "running shell commands in this repository"),
    "environment/agent-harness": (
        "Agent harness: hooks, subagents and tools",
        "a hook or the harness blocks a tool call",
    ),
    "troubleshooting/errors": ("Errors and their fixes", "an error shows up that is listed here"),
    "conventions/working-agreements": (
        "Working agreements",
        "planning or reviewing a change with the user",
    ),
}


def _subject(c: Candidate) -> str:
    return " ".join(
        [c.command, c.fix, c.check, c.error, " ".join(c.commands), " ".join(c.files), c.note]
    )


def topic_of(c: Candidate) -> Topic:
    """The topic doc for ``c``."""
    subject = _subject(c)
    words = f"{c.said} {subject}"
    commands = " ".join([c.command, c.fix, c.check, *c.commands])
    if c.kind == "error_fixed" and c.source in ("tool", "harness") and c.command:
        # A failed call is filed by what failed, not by what was done afterwards.
        words = commands = f"{c.command} {c.fix}"
        subject = f"{c.command} {c.error}"
    if c.kind == "verification":
        if c.source == "hooks":
            return _named("git", "commits")
        if sg.TEST_RUNNER.search(c.command):
            return _tool_topic("testing", c.command)
        return _tool_topic("build", c.command)
    if _CI.search(words):
        github = re.search(r"github|actions/|/home/runner/|hostedtoolcache", words, re.I)
        return _named("ci", "github-actions" if github else "pipeline")
    if _GIT.search(commands) or (c.said and _GIT.search(c.said)):
        return _named("git", "commits")
    if _DEPS.search(words):
        return _tool_topic("dependencies", f"{commands} {c.error} {c.said}")
    if c.kind == "error_fixed" and _HARNESS.search(f"{c.error} {c.note} {c.command}"):
        return _named("environment", "agent-harness")
    if c.kind == "error_fixed" and _SHELL.search(f"{c.error} {c.command}"):
        return _named("environment", "shell")
    if sg.TEST_RUNNER.search(commands) or (
        c.kind == "error_fixed" and any(_TEST_FILE.search(f) for f in c.files)
    ):
        return _tool_topic("testing", commands)
    if c.command and (sg.is_check(c.command) or _BUILD.match(sg.program(c.command))):
        return _tool_topic("build", commands)
    language = _language(c.files)
    if language:
        return _code_topic(language)
    if c.kind == "error_fixed" and c.tool in sg.SHELL_TOOLS:
        return _named("environment", "shell")
    if c.kind == "error_fixed" and c.source != "pasted":
        return _named("environment", "agent-harness")
    if c.kind == "error_fixed":
        return _named("troubleshooting", "errors")
    return _named("conventions", "working-agreements")


def _named(category: str, slug: str) -> Topic:
    key = category if category in _TITLES else f"{category}/{slug}"
    title, when = _TITLES.get(key, (f"{category.title()}: {slug}", f"working on {slug}"))
    return Topic(category, slug, title, when)


def _tool_topic(category: str, text: str) -> Topic:
    tool = _tool(category, text)
    if tool == "":  # no tool recognised: the category's general doc
        slug, title, when = _GENERAL[category]
        return Topic(category, slug, title, when)
    if category == "testing":
        return Topic(
            category,
            tool,
            f"Running the tests ({tool})",
            f"running or fixing the tests with {tool}",
        )
    if category == "dependencies":
        return Topic(
            category,
            tool,
            f"Dependencies ({tool})",
            f"installing, adding or upgrading dependencies with {tool}",
        )
    return Topic(
        category,
        tool,
        f"Building and checking ({tool})",
        f"building, linting or type-checking with {tool}",
    )


def _tool(category: str, text: str) -> str:
    if category == "dependencies":
        for name in _MANAGERS:
            if re.search(rf"(?<![\w-]){name}(?![\w-])", text):
                return "node-versions" if name == "nvm" else name
        return ""
    match = (sg.TEST_RUNNER if category == "testing" else sg.VERIFY).search(
        " ".join(sg.segments(text)[-1:]) or text
    ) or (sg.TEST_RUNNER if category == "testing" else _BUILD).search(text)
    if match is None:
        return ""
    word = re.sub(r"^(?:npx|bunx|uv run|poetry run|python3? -m|\./)\s*", "", match.group(0))
    word = word.split()[0] if word.split() else ""
    return re.sub(r"[^a-z0-9]+", "-", word.lower()).strip("-")


def _language(files: list[str]) -> str:
    counts = Counter(
        _LANGUAGES.get(PurePosixPath(f.replace("\\", "/")).suffix.lower(), "") for f in files
    )
    counts.pop("", None)
    return counts.most_common(1)[0][0] if counts else ""


def _code_topic(language: str) -> Topic:
    if language == "documentation":
        return Topic("code", language, "Documentation files", "writing or changing the docs")
    return Topic("code", language, f"Code: {language}", f"changing the {language} code")
