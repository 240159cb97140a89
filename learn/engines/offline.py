"""The offline engine: deterministic lessons from a digest, no network, no model.

It looks for the things a future agent should not have to rediscover:

- errors and what fixed them: a failing tool call paired with the next successful call of the
  same kind (same program for shell commands, with every test runner counted as one; same file
  for edits), with the assistant's explanation in between;
- corrections from the user: a later prompt that redirects the work ("no, use X instead"), or a
  new instruction right after an interrupt;
- the verification commands that passed, and the files changed.

A session with no error fixed and no correction has nothing to learn: no doc is written.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field

from learn.digest import Event, load_events
from learn.engines import EngineJob, EngineResult
from learn.learned_docs import LearnedDoc, Tripwire, slugify, write_doc

CATEGORY = "sessions"
SHELL_TOOLS = frozenset({"Bash", "PowerShell", "BashOutput"})
EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
_CORRECTION = re.compile(
    r"^\s*(no\b|nope\b|don'?t\b|do not\b|stop\b|wait\b|actually\b|wrong\b|that'?s (not|wrong)\b|"
    r"not like that\b|never\b|please (don'?t|do not|use)\b|instead\b|undo\b|revert\b)"
    r"|\binstead\b|\brather than\b|\bshould (have )?(use|be)\b|\bwe (always|never|don'?t)\b",
    re.I,
)
_VERIFY = re.compile(
    r"\b(pytest|unittest|tox|nox|mypy|ruff|flake8|pylint|black --check|eslint|tsc|jest|vitest|"
    r"npm (run )?(test|lint|build)|yarn (test|lint|build)|pnpm (test|lint|build)|cargo (test|check|"
    r"clippy|build)|go (test|vet|build)|make( \S+)? ?(test|check|lint)|gradle\w* test|mvn test|"
    r"ctest|rspec|phpunit)\b"
)
_TEST_RUNNER = re.compile(
    r"\b(pytest|unittest|tox|nox|jest|vitest|npm (run )?test|yarn test|pnpm test|cargo test|"
    r"go test|make test|mvn test|rspec|phpunit)\b"
)
_ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(slots=True)
class Fix:
    tool: str
    failed: str  # what was attempted (command or "Edit path")
    error: str  # the most telling error line
    fixed_by: str  # what worked
    why: str = ""  # the assistant's explanation, first sentence


@dataclass(slots=True)
class Correction:
    said: str
    after: str  # what the assistant had just done
    changed: list[str] = field(default_factory=list)  # files changed in response


@dataclass(slots=True)
class Lessons:
    goal: str = ""
    fixes: list[Fix] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unresolved: list[Fix] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.fixes and not self.corrections


def describe(ev: Event) -> str:
    """A call as a person would write it: the command, or 'Edit path'."""
    if ev.tool in SHELL_TOOLS:
        return ev.params.get("command", "").strip() or ev.tool
    target = ev.params.get("file_path") or ev.params.get("path") or ev.params.get("pattern") or ""
    return f"{ev.tool} {target}".strip()


def signature(ev: Event) -> tuple[str, str]:
    """What makes two calls 'the same kind of attempt'."""
    if ev.tool in SHELL_TOOLS:
        command = ev.params.get("command", "")
        if _TEST_RUNNER.search(command):
            return ("shell", "tests")
        return ("shell", _program(command))
    if ev.tool in EDIT_TOOLS:
        return ("edit", ev.params.get("file_path", ""))
    return (ev.tool, ev.params.get("file_path", "") or ev.params.get("path", ""))


def _program(command: str) -> str:
    last = command.split("&&")[-1].split("|")[0]
    try:
        words = shlex.split(last)
    except ValueError:
        words = last.split()
    words = [w for w in words if not _ENV_ASSIGN.match(w)]
    if words[:1] in (["python"], ["python3"], ["uv"], ["poetry"]) and len(words) > 2:
        return " ".join(words[:3]) if words[1] in ("-m", "run") else words[0]
    return words[0] if words else ""


def _first_sentence(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    match = re.search(r"(?<=[.!?])\s", text)
    sentence = text[: match.start()] if match else text
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


_BANNER = re.compile(r"^[\W_]*(errors?|failures?)?[\W_]*$", re.I)
_NAMED = re.compile(r"^(E\s+)?[\w.]*(Error|Exception|Failure):\s")
_TELLING = re.compile(r"\w+(Error|Exception)\b|error:|not found|no such|denied|cannot|can't|failed")


def _error_line(ev: Event) -> str:
    """The most telling line of a failed result: a named error beats a banner or exit code."""
    lines = ev.error_lines or [ln.strip() for ln in ev.text.splitlines() if ln.strip()]
    lines = [re.sub(r"</?tool_use_error>", "", ln).strip() for ln in lines]
    lines = [
        ln
        for ln in lines
        if ln and not _BANNER.match(ln) and not re.fullmatch(r"(Error: )?Exit code \d+", ln)
    ]
    best = next(
        (ln for ln in lines if _NAMED.match(ln)),
        next((ln for ln in lines if _TELLING.search(ln)), lines[0] if lines else "failed"),
    )
    return best.removeprefix("E ").strip()[:240]


@dataclass(slots=True)
class _Open:
    call: Event
    result: Event
    diagnosis: str = ""  # the assistant's first words after the failure
    changes: list[str] = field(default_factory=list)  # edits made before it was resolved


def extract(events: Iterable[Event]) -> Lessons:
    """Walk the events once and collect the lessons."""
    lessons = Lessons()
    calls: dict[int, Event] = {}
    open_failures: list[_Open] = []
    last_action = ""
    pending: Correction | None = None
    seen_prompt = False
    for ev in events:
        if ev.agent:  # subagents explore; lessons come from the main thread
            continue
        if ev.kind == "prompt":
            said = ev.text.strip()
            if not seen_prompt:
                lessons.goal = said
                seen_prompt = True
            elif said and (ev.interrupted or _CORRECTION.search(said)):
                pending = Correction(said=said, after=last_action)
                lessons.corrections.append(pending)
        elif ev.kind == "text":
            for failure in open_failures:
                failure.diagnosis = failure.diagnosis or _first_sentence(ev.text)
        elif ev.kind == "call":
            calls[ev.call] = ev
        elif ev.kind == "result" and ev.call in calls:
            call = calls.pop(ev.call)
            last_action = describe(call)
            if ev.is_error:
                open_failures.append(_Open(call, ev))
                continue
            _settle(lessons, open_failures, call)
            _note_success(lessons, call, pending)
    lessons.unresolved = [
        Fix(o.call.tool, describe(o.call), _error_line(o.result), "") for o in open_failures
    ]
    return lessons


def _note_success(lessons: Lessons, call: Event, pending: Correction | None) -> None:
    if call.tool in SHELL_TOOLS and _VERIFY.search(call.params.get("command", "")):
        command = call.params["command"].strip()
        if command in lessons.verified:
            lessons.verified.remove(command)
        lessons.verified.append(command)
    path = call.params.get("file_path", "")
    if call.tool in EDIT_TOOLS and path:
        if path not in lessons.files:
            lessons.files.append(path)
        if pending is not None and path not in pending.changed:
            pending.changed.append(path)


def _settle(lessons: Lessons, open_failures: list[_Open], ok: Event) -> None:
    """A successful call resolves the latest open failure of the same kind."""
    sig = signature(ok)
    if ok.tool in EDIT_TOOLS:
        for failure in open_failures:
            if signature(failure.call) != sig and describe(ok) not in failure.changes:
                failure.changes.append(describe(ok))
    for i in range(len(open_failures) - 1, -1, -1):
        failure = open_failures[i]
        if signature(failure.call) == sig:
            del open_failures[i]
            fixed_by = _code(describe(ok))
            if failure.changes:
                fixed_by = f"{'; '.join(failure.changes[:3])}, then {fixed_by}"
            lessons.fixes.append(
                Fix(
                    failure.call.tool,
                    describe(failure.call),
                    _error_line(failure.result),
                    fixed_by,
                    failure.diagnosis,
                )
            )
            return


def _correction_action(c: Correction) -> str:
    if c.changed:
        return f"changing {', '.join(c.changed[:3])}"
    return f"after {_code(c.after, 80)}" if c.after else "this kind of change"


def _headline(text: str, limit: int = 70) -> str:
    """A short title: the first sentence, up to a colon, cut at a word boundary."""
    head = _first_sentence(text, 400)
    before_colon = re.split(r":\s", head, maxsplit=1)[0]
    head = before_colon if len(before_colon) >= 15 else head
    if len(head) > limit:
        head = head[:limit].rsplit(" ", 1)[0] + "…"
    return head.rstrip(".")


def _slug(text: str, limit: int = 60) -> str:
    slug = slugify(text, 200)
    return slug if len(slug) <= limit else slug[:limit].rsplit("-", 1)[0]


def _code(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "`" + text.replace("`", "'") + "`"


def to_doc(lessons: Lessons, job: EngineJob) -> LearnedDoc | None:
    if lessons.empty:
        return None
    goal = _headline(job.title or lessons.goal or "this session")
    title = f"Lessons from: {goal}"
    tripwires = [
        Tripwire(
            action=f"running {_code(f.failed, 80)}",
            warning=f"fails with {f.error}; what worked: {f.fixed_by}"[:300],
        )
        if f.tool in SHELL_TOOLS
        else Tripwire(
            action=f"{f.tool} on {f.failed.split(' ', 1)[-1]}",
            warning=f"{f.error} — {f.why or 'what worked: ' + f.fixed_by}"[:300],
        )
        for f in lessons.fixes
    ]
    tripwires += [
        Tripwire(
            action=_correction_action(c),
            warning=f"the user corrected: {_first_sentence(c.said, 200)}",
        )
        for c in lessons.corrections
    ]
    read_when = [f"working on {', '.join(lessons.files[:3])}"] if lessons.files else []
    read_when += [f"running {_code(cmd, 60)}" for cmd in lessons.verified[-2:]]
    read_when.append(f"doing something like: {_first_sentence(lessons.goal, 120)}")
    slug_source = f"issue-{job.issue}-{goal}" if job.issue is not None else goal
    return LearnedDoc(
        category=CATEGORY,
        slug=_slug(slug_source),
        title=title,
        read_when=read_when,
        body=_body(lessons, goal),
        tripwires=tripwires,
        issue=job.issue,
        sessions=list(job.sessions),
    )


def _body(lessons: Lessons, goal: str) -> str:
    out = [
        f"# Lessons from: {goal}",
        "",
        f"The session set out to: {_first_sentence(lessons.goal, 300)}",
        "",
    ]
    if lessons.fixes:
        out += ["## Errors and what fixed them", ""]
        for f in lessons.fixes:
            out.append(f"- {_code(f.failed)} failed: {_code(f.error, 200)}.")
            if f.why:
                out.append(f"  Diagnosis: {f.why}")
            out.append(f"  What worked: {f.fixed_by}.")
        out.append("")
    if lessons.corrections:
        out += ["## Corrections from the user", ""]
        for c in lessons.corrections:
            line = f"- “{_first_sentence(c.said, 300)}”"
            if c.after:
                line += f" — said after {_code(c.after, 100)}"
            if c.changed:
                line += f"; changed in response: {', '.join(c.changed[:5])}"
            out.append(line + ".")
        out.append("")
    if lessons.verified:
        out += ["## Verification that passed", ""]
        out += [f"- {_code(cmd)}" for cmd in lessons.verified]
        out.append("")
    if lessons.files:
        out += ["## Files changed", ""]
        out += [f"- `{path}`" for path in lessons.files[:30]]
        out.append("")
    if lessons.unresolved:
        out += ["## Still failing when the session ended", ""]
        out += [f"- {_code(f.failed)}: {_code(f.error, 200)}" for f in lessons.unresolved[:10]]
        out.append("")
    return "\n".join(out)


class OfflineEngine:
    name = "offline"

    def run(self, job: EngineJob) -> EngineResult:
        lessons = extract(load_events(job.digest_dir))
        doc = to_doc(lessons, job)
        if doc is None:
            return EngineResult(
                self.name, [], "offline: nothing to learn (no error fixed, no correction)"
            )
        outcome = write_doc(job.docs_root, doc, today=job.today)
        rel = f"docs/learned/{doc.relpath.as_posix()}"
        written = [] if outcome == "unchanged" else [rel]
        return EngineResult(
            self.name,
            written,
            f"offline: {len(lessons.fixes)} fix(es), {len(lessons.corrections)} correction(s), "
            f"{len(lessons.verified)} verification command(s) → {rel} ({outcome})",
        )
