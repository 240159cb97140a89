"""Lesson extraction: one small synthetic transcript per candidate class, in the JSONL shape
Claude Code writes, digested for real and then extracted."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from learn.digest import build_digest, load_events
from learn.lessons.candidates import Candidate, extract
from learn.transcripts.files import discover
from tests.support.transcripts import assistant, tool_result, user, write_jsonl

_ids = itertools.count(1)


def _uuid() -> str:
    return f"u-{next(_ids)}"


class Session:
    """A transcript under construction: prompts, tool calls and their results."""

    def __init__(self, **extra: object) -> None:
        self.entries: list[object] = []
        self.extra = extra

    def prompt(self, text: str) -> Session:
        self.entries.append(user(text, _uuid(), **self.extra))
        return self

    def interrupt(self) -> Session:
        return self.prompt("[Request interrupted by user]")

    def say(self, text: str) -> Session:
        n = next(_ids)
        self.entries.append(
            assistant({"type": "text", "text": text}, _uuid(), f"m{n}", **self.extra)
        )
        return self

    def run(self, tool: str, result: str, *, is_error: bool = False, **params: object) -> Session:
        n = next(_ids)
        block = {"type": "tool_use", "id": f"t{n}", "name": tool, "input": params}
        self.entries.append(assistant(block, _uuid(), f"m{n}", **self.extra))
        entry = tool_result(f"t{n}", result, _uuid(), is_error=is_error)
        entry.update(self.extra)
        self.entries.append(entry)
        return self

    def bash(self, command: str, result: str, *, is_error: bool = False) -> Session:
        return self.run("Bash", result, is_error=is_error, command=command)

    def edit(self, path: str, old: str, new: str) -> Session:
        return self.run(
            "Edit",
            f"The file {path} has been updated.",
            file_path=path,
            old_string=old,
            new_string=new,
        )

    def candidates(self, tmp_path: Path) -> list[Candidate]:
        path = write_jsonl(tmp_path / "session.jsonl", self.entries)
        build_digest(discover([path]), tmp_path / "digest")
        return extract(load_events(tmp_path / "digest"))


def only(cands: list[Candidate], kind: str) -> Candidate:
    found = [c for c in cands if c.kind == kind]
    assert len(found) == 1, found
    return found[0]


def test_failed_command_then_the_one_that_worked(tmp_path: Path) -> None:
    cands = (
        Session()
        .prompt("Run the web tests")
        .bash(
            "pnpm run test:unit", 'ERR_PNPM_NO_SCRIPT  Missing script: "test:unit"', is_error=True
        )
        .say("The script has another name; let me list them.")
        .bash("pnpm run test-unit", "12 passing")
        .candidates(tmp_path)
    )
    fix = only(cands, "error_fixed")
    assert fix.command == "pnpm run test:unit" and 'Missing script: "test:unit"' in fix.error
    assert fix.fix == "pnpm run test-unit" and fix.confidence >= 0.8 and fix.where == "main"
    assert only(cands, "verification").command == "pnpm run test-unit"


def test_error_shown_in_a_result_not_flagged_as_error(tmp_path: Path) -> None:
    cands = (
        Session()
        .prompt("Stage the page files")
        .bash(
            "git add src/routes/[slug]/page.ts",
            "zsh: no matches found: src/routes/[slug]/page.ts",
        )
        .bash("git add 'src/routes/[slug]/page.ts'", "")
        .candidates(tmp_path)
    )
    fix = only(cands, "error_fixed")
    assert "no matches found" in fix.error and fix.fix == "git add 'src/routes/[slug]/page.ts'"


def test_test_run_failing_in_its_output_is_fixed_by_the_edit_in_between(tmp_path: Path) -> None:
    cands = (
        Session()
        .prompt("Make the models importable")
        .bash(
            "pytest -q 2>&1 | tail -3",
            "E   NameError: name 'parse_date' is not defined\n1 error",
        )
        .edit(
            "src/models.py",
            "from app.dates import format_date",
            "from app.dates import format_date, parse_date",
        )
        .bash("pytest -q 2>&1 | tail -3", "42 passed in 0.5s")
        .candidates(tmp_path)
    )
    fix = only(cands, "error_fixed")
    assert "NameError: name 'parse_date' is not defined" in fix.error
    assert fix.changes == [
        "src/models.py: `from app.dates import format_date`"
        " → `from app.dates import format_date, parse_date`"
    ]
    check = only(cands, "verification")
    assert check.command == "pytest -q" and check.outcome == "42 passed in 0.5s"


def test_plan_rejection_feedback_is_the_users_words_without_boilerplate(tmp_path: Path) -> None:
    rejection = (
        "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if "
        "it was a file edit, the new_string was NOT written to the file). To tell you how to "
        "proceed, the user said:\nPut the report under reports/, not in the root."
    )
    cands = (
        Session()
        .prompt("Plan the archive")
        .run(
            "ExitPlanMode",
            rejection,
            is_error=True,
            plan="Write the report into the repository root",
        )
        .candidates(tmp_path)
    )
    said = only(cands, "user_correction")
    assert (
        said.source == "plan-feedback"
        and said.said == "Put the report under reports/, not in the root."
    )


@pytest.mark.parametrize(
    "report",
    [
        "the icon and the label overlap on small screens",
        "保存ボタンを押しても何も起きません。動作しないです。",  # Japanese
        "只改按钮的颜色\uff0c布局不要动",  # Chinese: only the button's colour, leave the layout
        "el botón de guardar no funciona",  # Spanish
        "der Knopf funktioniert nicht mehr",  # German
    ],
)
def test_bug_reports_and_corrections_in_several_languages(tmp_path: Path, report: str) -> None:
    cands = (
        Session()
        .prompt("Add the footer menu")
        .edit("src/Footer.tsx", "<Menu/>", "<Menu compact/>")
        .prompt(report)
        .edit("src/Footer.tsx", 'className="px-4 py-4"', 'className="px-2 py-4"')
        .candidates(tmp_path)
    )
    said = only(cands, "user_correction")
    assert said.said == report and said.changes == [
        'src/Footer.tsx: `className="px-4 py-4"` → `className="px-2 py-4"`'
    ]


def test_a_preference_after_an_interrupt(tmp_path: Path) -> None:
    cands = (
        Session()
        .prompt("Commit the change")
        .run(
            "Bash",
            "The user doesn't want to proceed with this tool use. The tool use was rejected.",
            is_error=True,
            command="git commit -m 'x\n\nCo-Authored-By: agent'",
        )
        .interrupt()
        .prompt("commit without your signature")
        .bash("git commit -m 'Fix footer'", "[main 1a2b3c] Fix footer")
        .candidates(tmp_path)
    )
    said = only(cands, "user_correction")
    assert said.said == "commit without your signature" and said.confidence >= 0.8
    assert not [c for c in cands if c.kind == "error_fixed"]  # the rejection itself is noise


def test_an_error_pasted_into_a_prompt(tmp_path: Path) -> None:
    pasted = (
        "CI fails:\n\nRun npm run test:coverage\n MISSING DEPENDENCY  Cannot find dependency "
        "'@acme/reporter'\n\nError: Process completed with exit code 1."
    )
    cands = (
        Session()
        .prompt("Add coverage to CI")
        .prompt(pasted)
        .bash("npm install --save-dev @acme/reporter", "added 12 packages")
        .bash("npm run test:coverage", "Coverage enabled with v8\n 40 passed")
        .candidates(tmp_path)
    )
    fix = only(cands, "error_fixed")
    assert fix.source == "pasted" and fix.error.endswith("Cannot find dependency '@acme/reporter'")
    assert fix.commands == ["npm install --save-dev @acme/reporter"]
    assert fix.check == "npm run test:coverage"


@pytest.mark.parametrize(
    "command",
    [
        "npm run build",
        "npx tsc --noEmit",
        "cargo test",
        "go test ./...",
        "ruff check .",
        "python -m pytest -q",
        "docker build --target deps -t app-deps .",
    ],
)
def test_checks_that_passed_are_verification(tmp_path: Path, command: str) -> None:
    cands = (
        Session()
        .prompt("Check it")
        .bash(f"cd /repo && {command} 2>&1", "ok: all good")
        .candidates(tmp_path)
    )
    assert only(cands, "verification").command == command


def test_commands_are_shown_as_a_person_would_retype_them() -> None:
    from learn.lessons.signals import clean_command

    assert clean_command("cd /repo && pytest -q 2>&1 | tail -3 && ruff check .") == (
        "pytest -q && ruff check ."
    )
    assert clean_command("cat > t.py << 'EOF'\nbody\nEOF", from_check=False) == "cat > t.py <<…"


def test_commit_hooks_that_ran_checks_are_verification(tmp_path: Path) -> None:
    hooks = "[STARTED] Preparing lint-staged...\n[COMPLETED] Running tasks\n[main 1a2b3c] Fix"
    cands = Session().prompt("Commit").bash("git commit -m 'Fix'", hooks).candidates(tmp_path)
    check = only(cands, "verification")
    assert check.source == "hooks" and "lint-staged" in check.outcome


def test_a_failure_inside_a_subagent_is_paired_with_that_subagents_fix(tmp_path: Path) -> None:
    side = Session(isSidechain=True)
    side.prompt("Find the policy registration")
    side.run("Read", "File does not exist.", is_error=True, file_path="/repo/config/routes.yaml")
    side.run("Read", "File does not exist.", is_error=True, file_path="/repo/config/routes.yaml")
    side.run("Read", "File does not exist.", is_error=True, file_path="/repo/config/routes.yaml")
    side.run("Glob", "config/routes.yml", pattern="config/routes.*")
    main = Session().prompt("Why do some users get a 403?")
    main.entries += side.entries
    cands = main.candidates(tmp_path)
    fix = only(cands, "error_fixed")
    assert fix.where == "sidechain" and fix.count == 3 and fix.confidence >= 0.5


def test_harness_noise_is_dropped_unless_it_recurs(tmp_path: Path) -> None:
    session = Session().prompt("Edit the test")
    session.run(
        "Edit",
        "<tool_use_error>File has not been read yet. Read it first before "
        "writing to it.</tool_use_error>",
        is_error=True,
        file_path="/repo/t.py",
        old_string="a",
        new_string="b",
    )
    assert session.candidates(tmp_path / "once") == []
    for _ in range(3):
        session.run(
            "Edit",
            "<tool_use_error>File has been modified since read, either by the "
            "user or by a linter. Read it again before attempting to write it."
            "</tool_use_error>",
            is_error=True,
            file_path="/repo/t.py",
            old_string="a",
            new_string="b",
        )
    fix = only(session.candidates(tmp_path / "thrice"), "error_fixed")
    assert fix.source == "harness" and fix.count == 3


def test_questions_and_acknowledgements_are_not_corrections(tmp_path: Path) -> None:
    cands = (
        Session()
        .prompt("Add a CSV export")
        .prompt("How do I get the token?")
        .prompt("yes")
        .prompt("continue")
        .candidates(tmp_path)
    )
    assert cands == []
