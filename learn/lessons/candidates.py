"""Candidate lessons from digest events: high recall, each with its evidence.

One pass over the events, one state per thread (the main session and each subagent), so a
subagent's failure is paired with that subagent's fix. Three kinds, as the corpus labels them:

- ``error_fixed``: a tool call that failed — flagged ``is_error`` or only showing an error in its
  output (zsh ``no matches found``, a ``NameError`` in a test run, a lint warning in a build) —
  with the call that worked afterwards and the edits made in between; an error the user pasted
  into a prompt, with what was changed in response; a harness error that kept recurring.
- ``user_correction``: a prompt that redirects the work (after an interrupt, with a correction
  cue in any of several languages, or a bug report), and the feedback given when a plan or tool
  call was rejected ("… the user said: …").
- ``verification``: a test, build, lint or type-check command that passed, and commit hooks
  that ran checks.

Known harness noise (rejections without feedback, read-before-edit, edit mismatches, cancelled
parallel calls) is dropped; a harness error that recurs (a formatter rewriting a file between
Read and Edit) is kept once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from learn.digest import Event
from learn.lessons import signals as sg

__all__ = ["KINDS", "MAX_OPEN_EVENTS", "PROMPT_CHARS", "Candidate", "extract"]

KINDS = ("error_fixed", "user_correction", "verification")
PROMPT_CHARS = 6_000  # a prompt is read this far (pasted logs can be long)
MAX_OPEN_EVENTS = 80  # a failure not resolved within this many events is left unresolved


@dataclass(slots=True)
class Candidate:
    """A lesson worth considering, with the evidence a doc should quote."""

    kind: str  # error_fixed | user_correction | verification
    source: str  # tool | pasted | harness | plan-feedback | prompt | bug-report | check | hooks
    where: str  # "main" or the subagent's label
    n: int  # the digest position of the event it starts at
    confidence: float
    tool: str = ""
    command: str = ""  # the failing or verifying command ("Read path" for other tools)
    error: str = ""  # the key error line
    said: str = ""  # the user's own words
    fix: str = ""  # the call that worked instead
    note: str = ""  # the assistant's explanation, or an instruction given after the failure
    changes: list[str] = field(default_factory=list)  # "file: `old` → `new`"
    files: list[str] = field(default_factory=list)  # files edited in response
    commands: list[str] = field(default_factory=list)  # commands run in response
    check: str = ""  # the check that passed afterwards
    outcome: str = ""  # a check's summary line
    count: int = 1

    @property
    def resolved(self) -> bool:
        return bool(self.fix or self.changes or self.check or self.commands or self.note)


@dataclass(slots=True)
class _Failure:
    call: Event
    candidate: Candidate
    target: str  # a path or program the failed call was about


@dataclass(slots=True)
class _Thread:
    where: str
    calls: dict[int, Event] = field(default_factory=dict)
    open: list[_Failure] = field(default_factory=list)
    responding: list[Candidate] = field(default_factory=list)  # prompt-born, taking responses
    prompts: int = 0
    skip_next_prompt: bool = False  # the output of a local slash command comes as a prompt
    rejected: bool = False  # the user just rejected a tool call: the next prompt says why


_IDE_TAGS = re.compile(r"<(ide_[a-z_]+|system-reminder)>.*?</\1>\s*", re.S)
_SLASH = re.compile(r"^(?:(\S+)\n)?/([\w:.-]+)(?:[ \t]*\n?)(.*)$", re.S)
_BUG = sg.Folded(
    r"not working|doesn'?t work|isn'?t working|broken|\berror\b|\bfails?\b|\bbug\b|\b40[0-9]\b|"
    r"\b50[0-9]\b|crash|same issue|動作しない|動かない|うまく|エラー|不工作|报错|失败|不生效|"
    r"no funciona|falla",
    re.I,
)
_EXCLAIM = re.compile(
    r"^(?:\W*(?:excellent|perfect|great|awesome|good|nice|done|ok(?:ay)?|now|alright|"
    r"you'?re (?:absolutely )?right|got it|i see|ah|oh|hmm)\b[^.!?\n]*[.!?:]\s*)+",
    re.I,
)
_LOG_LINE = re.compile(r"^(?:\s{2,}|[⎯✓✔\u00d7✗│|●⎿>$]|\s*(?:at |File \"))")


def extract(events: Iterable[Event]) -> list[Candidate]:
    """Walk the events once; every candidate found, in order of appearance."""
    return _Extractor().run(events)


class _Extractor:
    def __init__(self) -> None:
        self.threads: dict[str, _Thread] = {}
        self.found: list[Candidate] = []
        self.failures: dict[tuple[str, str, str], Candidate] = {}
        self.harness: dict[str, list[Event]] = {}
        self.checks: dict[str, Candidate] = {}

    def run(self, events: Iterable[Event]) -> list[Candidate]:
        for ev in events:
            thread = self.threads.get(ev.agent)
            if thread is None:
                thread = self.threads[ev.agent] = _Thread(ev.agent or "main")
            handler = getattr(self, f"_on_{ev.kind}", None)
            if handler is not None:
                handler(ev, thread)
        for thread in self.threads.values():
            _close(thread)
        self._recurring_harness()
        self.found = [c for c in self.found if c.source != "subagent" or c.note]
        for cand in self.found:
            if cand.kind == "user_correction" and cand.source != "plan-feedback":
                # Words that led to a change are more likely a lesson than words that did not.
                cand.confidence += 0.1 if (cand.changes or cand.files) else 0
                cand.confidence -= 0.1 if not (cand.changes or cand.files or cand.commands) else 0
            if cand.kind == "error_fixed" and cand.source == "tool":
                cand.confidence -= 0.2 if sg.telling_score(cand.error) < 3 else 0
        self.found.extend(self.checks.values())
        return sorted(self.found, key=lambda c: c.n)

    # -- prompts -------------------------------------------------------------------------------

    def _on_prompt(self, ev: Event, thread: _Thread) -> None:
        text = _IDE_TAGS.sub("", ev.text[:PROMPT_CHARS]).strip()
        if not text or text == "[image]":
            return
        slash = _SLASH.match(text)
        command_args = False
        if slash:
            text = slash.group(3).strip()
            if text == slash.group(2):  # the command's name, repeated
                text = ""
            if not text:
                thread.skip_next_prompt = True
                return
            command_args = True  # a slash command's arguments: a task, unless an error
        elif thread.skip_next_prompt and len(text) < 120:
            thread.skip_next_prompt = False
            return
        thread.skip_next_prompt = False
        thread.prompts += 1
        first = thread.prompts == 1
        if thread.where != "main":
            # A subagent's prompts come from its parent: the first is the task, later ones are
            # instructions that usually resolve what just failed.
            if not first:
                for failure in thread.open:
                    failure.candidate.said = _sentences(text, 200)
            return
        thread.responding = []
        rejected, thread.rejected = thread.rejected, False
        for failure in thread.open:  # what the user said right after a failure
            if not failure.candidate.said and ev.interrupted:
                failure.candidate.said = _sentences(_IDE_TAGS.sub("", ev.text), 160)
        _close(thread)  # a new request ends what was left failing
        own = _own_words(text)
        pasted = sg.error_lines(text)
        best = sg.best_error(pasted)
        if best and sg.telling_score(best) >= 3:
            cand = self._add(
                Candidate("error_fixed", "pasted", thread.where, ev.n, 0.75, error=best)
            )
            cand.command = _pasted_command(text)
            second = sg.best_error([ln for ln in pasted if sg._tidy(ln) != best])
            if second and sg.telling_score(second) >= 3 and len(best) < 160:
                cand.error = f"{best} … {second}"
            thread.responding.append(cand)
        if not own or sg.ACK.match(own) or command_args:
            return
        cue = sg.STRONG_CUES.search(own) or sg.CORRECTION_CUES.search(own)
        strong = bool(sg.STRONG_CUES.search(own))
        if first:
            if _BUG.search(own) and not best:
                cand = Candidate("user_correction", "bug-report", thread.where, ev.n, 0.5)
                cand.said = _quote(own, _BUG.search(own))
                thread.responding.append(self._add(cand))
            return
        if rejected and len(own) >= 8:
            confidence = 0.9 if cue else 0.8
        elif ev.interrupted and (cue or len(own) >= 12):
            confidence = 0.9 if cue else 0.6
        elif cue and not (sg.QUESTION_ONLY.match(own) and len(own) < 25):
            confidence = 0.8 if strong else 0.6
            confidence -= 0.15 if sg.QUESTION_ONLY.match(own) else 0
        else:
            return
        # A long prompt is more often a new task than a correction.
        confidence -= (0.1 if ev.interrupted else 0.2) if len(own) > 400 else 0
        confidence -= 0.1 if len(own) > 800 else 0
        source = "bug-report" if _BUG.search(own) else "prompt"
        cand = Candidate("user_correction", source, thread.where, ev.n, confidence)
        cand.said = _quote(own, cue)
        thread.responding.append(self._add(cand))

    # -- assistant text ------------------------------------------------------------------------

    def _on_text(self, ev: Event, thread: _Thread) -> None:
        thread.open = [f for f in thread.open if ev.n - f.candidate.n <= MAX_OPEN_EVENTS]
        for failure in thread.open:
            if not failure.candidate.note:
                failure.candidate.note = _explanation(ev.text)

    # -- calls and results ---------------------------------------------------------------------

    def _on_call(self, ev: Event, thread: _Thread) -> None:
        thread.calls[ev.call] = ev

    def _on_result(self, ev: Event, thread: _Thread) -> None:
        call = thread.calls.pop(ev.call, None)
        if call is None:
            return
        text = ev.text
        said = sg.USER_SAID.search(text) if ev.is_error else None
        if said:
            self._plan_feedback(ev, call, thread, said.group(1))
            return
        if ev.is_error:
            kind = sg.harness_kind(text)
            thread.rejected = thread.rejected or kind == "rejected"
            if kind:
                self.harness.setdefault(kind, []).append(call)
                return
            self._failed(ev, call, thread, [*ev.error_lines, *sg.error_lines(text)])
            return
        if call.tool in sg.SHELL_TOOLS:
            command = call.params.get("command", "")
            lines = [] if sg.reads_content(command) else sg.error_lines(text)
            if sg.ECHOING.match(sg.program(command)):  # it echoes a message: only shell errors
                lines = [ln for ln in lines if sg.SHELL_ERROR.search(ln)]
            if lines and sg.telling_score(sg.best_error(lines)) >= 1:
                if sg.TEST_RUNNER.search(command):
                    self._check(ev, call, thread, command)  # a run that reports failures
                self._failed(ev, call, thread, lines)
                return
        if call.tool in sg.AGENT_TOOLS:
            lines = [ln for ln in text.splitlines()[:12] if sg.BLOCKER.search(ln)]
            if lines:
                self._failed(ev, call, thread, [_sentences(ln, 240) for ln in lines])
                return
        self._succeeded(ev, call, thread)

    def _plan_feedback(self, ev: Event, call: Event, thread: _Thread, said: str) -> None:
        words = sg.REJECTION.sub("", said).strip()
        if not words:
            return
        cand = Candidate("user_correction", "plan-feedback", thread.where, ev.n, 0.9)
        cand.said = _quote(words, sg.CORRECTION_CUES.search(words))
        cand.command = _describe(call) if call.tool not in sg.PLAN_TOOLS else ""
        thread.responding = [self._add(cand)]

    def _failed(self, ev: Event, call: Event, thread: _Thread, lines: list[str]) -> None:
        error = sg.best_error(lines)
        if not error or sg.telling_score(error) < 1:
            error = sg.best_error(ev.text.splitlines()[:40]) or error or "failed"
        sig = _signature(call)
        key = (thread.where, sig, _norm(error))
        known = self.failures.get(key)
        if known is not None:
            known.count += 1
            if _looking(call, error) and known.count >= 3:
                known.confidence = max(known.confidence, 0.6)
            return
        for failure in [f for f in thread.open if _signature(f.call) == sig]:
            # The same step now fails differently: what was changed in between fixed the first
            # error (a test run going from one failure to the next).
            if (failure.candidate.changes or failure.candidate.commands) and not _looking(
                failure.call, failure.candidate.error
            ):
                thread.open.remove(failure)
                failure.candidate.confidence = 0.65
        cand = Candidate(
            "error_fixed",
            "subagent" if call.tool in sg.AGENT_TOOLS else "tool",
            thread.where,
            ev.n,
            0.35,
            tool=call.tool,
            command=_describe(call),
            error=error[:300],
        )
        self.failures[key] = self._add(cand)
        thread.open.append(_Failure(call, cand, _target(call)))

    def _succeeded(self, ev: Event, call: Event, thread: _Thread) -> None:
        described = _describe(call)
        change = ""
        if call.tool in sg.EDIT_TOOLS:
            path = call.params.get("file_path", "") or call.params.get("notebook_path", "")
            change = f"{path}: {call.change}" if call.change else ""
            for cand in [*thread.responding, *(f.candidate for f in thread.open)]:
                if path and path not in cand.files:
                    cand.files.append(path)
                if change and change not in cand.changes:
                    cand.changes.append(change)
        command = call.params.get("command", "") if call.tool in sg.SHELL_TOOLS else ""
        verifying = bool(command and sg.is_check(command))
        if command and sg.program(command) == "git commit" and sg.COMMIT_HOOKS.search(ev.text):
            verifying = True
        if verifying:
            self._check(ev, call, thread, command)
        elif command and not sg.reads_content(command):
            for failure in thread.open:
                cleaned = sg.clean_command(command)
                if len(failure.candidate.commands) < 2 and _signature(call) != _signature(
                    failure.call
                ):
                    failure.candidate.commands.append(cleaned)
            for cand in thread.responding:
                if len(cand.commands) < 2 and sg.clean_command(command) not in cand.commands:
                    cand.commands.append(sg.clean_command(command))
        if command and verifying:
            for cand in thread.responding:
                cand.check = cand.check or sg.clean_command(command, from_check=True)
        if call.tool in sg.MESSAGE_TOOLS:
            message = call.params.get("message") or call.params.get("content") or ""
            for failure in [f for f in thread.open if f.call.tool in sg.AGENT_TOOLS]:
                thread.open.remove(failure)
                failure.candidate.said = _sentences(message, 200)
                failure.candidate.confidence = 0.7
            return
        self._resolve(call, thread, described)

    def _resolve(self, ok: Event, thread: _Thread, described: str) -> None:
        sig = _signature(ok)
        haystack = " ".join(ok.params.values())
        for failure in list(thread.open):
            same = _signature(failure.call) == sig
            about = bool(failure.target) and failure.target in haystack
            if not (same or about):
                continue
            thread.open.remove(failure)
            cand = failure.candidate
            if " ".join(described.split()) != " ".join(cand.command.split()):
                cand.fix = sg.clean_command(described) if ok.tool in sg.SHELL_TOOLS else described
            cand.confidence = 0.8 if (cand.fix or cand.changes or cand.commands) else 0.5
            cand.confidence = 0.85 if cand.said else cand.confidence
            if _looking(failure.call, cand.error):
                cand.confidence = 0.6 if cand.count >= 3 else 0.3

    def _check(self, ev: Event, call: Event, thread: _Thread, command: str) -> None:
        cleaned = sg.clean_command(command, from_check=True)
        outcome = _outcome(ev.text)
        key = f"{thread.where}|{sg.program(cleaned.split(' && ')[0])}"
        known = self.checks.get(key)
        if known is not None:
            known.count += 1
            known.outcome = outcome or known.outcome
            known.confidence = min(0.9, known.confidence + 0.1)
            if cleaned != known.command and cleaned not in known.commands:
                known.commands.append(cleaned)
            return
        hooks = sg.program(command) == "git commit" and sg.COMMIT_HOOKS.search(ev.text)
        if sg.program(command) == "git commit" and not hooks:
            return
        if hooks:
            hook_lines = [ln for ln in sg.plain(ev.text).splitlines() if sg.COMMIT_HOOKS.search(ln)]
            outcome = "hooks ran: " + " ".join(hook_lines[0].split())[:120] if hook_lines else ""
        self.checks[key] = Candidate(
            "verification",
            "hooks" if hooks else "check",
            thread.where,
            ev.n,
            0.55,
            tool=call.tool,
            command=cleaned,
            outcome=outcome,
        )

    def _recurring_harness(self) -> None:
        for kind in sg.RECURRING_ONLY:
            calls = self.harness.get(kind, [])
            if len(calls) < sg.RECURRING_MIN:
                continue
            first = calls[0]
            cand = Candidate(
                "error_fixed",
                "harness",
                first.agent or "main",
                first.n,
                0.8,
                tool=first.tool,
                command=_describe(first),
                count=len(calls),
            )
            cand.error = {
                "modified-since-read": "File has been modified since read (a formatter or "
                "the user changed it): Read it again before attempting to write it",
            }.get(kind, kind)
            self.found.append(cand)

    def _add(self, cand: Candidate) -> Candidate:
        self.found.append(cand)
        return cand


# --- helpers ----------------------------------------------------------------------------------


def _close(thread: _Thread) -> None:
    """End the failures still open: one with a named error that other commands followed was
    most likely worked around."""
    for failure in thread.open:
        cand = failure.candidate
        if cand.commands and _NAMED_ERROR.search(cand.error):
            cand.confidence = max(cand.confidence, 0.5)
    thread.open.clear()


def _describe(call: Event) -> str:
    if call.tool in sg.SHELL_TOOLS:
        return call.params.get("command", "").strip() or call.tool
    target = (
        call.params.get("file_path")
        or call.params.get("path")
        or call.params.get("notebook_path")
        or call.params.get("pattern")
        or ""
    )
    return f"{call.tool} {target}".strip()


def _signature(call: Event) -> str:
    if call.tool in sg.SHELL_TOOLS:
        command = call.params.get("command", "")
        return "shell:tests" if sg.TEST_RUNNER.search(command) else f"shell:{sg.program(command)}"
    if call.tool in sg.EDIT_TOOLS:
        return f"edit:{call.params.get('file_path', '')}"
    return f"{call.tool}:{call.params.get('file_path', '') or call.params.get('path', '')}"


_LOOKING = re.compile(
    r"does not exist|No such file|not found|cannot access|no matches|No files found", re.I
)


_TIDYING = re.compile(r"^(?:rm|rmdir|mv|pkill|kill|killall|unlink|del|Remove-Item)\b")


def _looking(call: Event, error: str) -> bool:
    """A look-up (or a clean-up) that found nothing there: noise unless repeated."""
    command = call.params.get("command", "")
    if call.tool in ("Glob", "Grep", "LS") or (
        call.tool in sg.SHELL_TOOLS
        and (sg.reads_content(command) or bool(_TIDYING.match(sg.program(command))))
    ):
        return True  # a search or a clean-up that failed changed nothing worth knowing
    return call.tool == "Read" and bool(_LOOKING.search(error))


def _target(call: Event) -> str:
    path = call.params.get("file_path") or call.params.get("path") or ""
    name = PurePosixPath(path.replace("\\", "/")).name
    return name if len(name) >= 4 else ""


_NAMED_ERROR = re.compile(r"[A-Z]\w*(?:Error|Exception)\b")
_NUMBERS = re.compile(r"0x[0-9a-f]+|\d+")
_NOT_WORDS = re.compile(r"[^\w#]+")


def _norm(text: str) -> str:
    text = _NUMBERS.sub("#", text.casefold())
    return " ".join(_NOT_WORDS.sub(" ", text).split())


_PASTED_COMMAND = re.compile(r"^\s*(?:\$|>|Run|\u276f)\s+(\S.*)$")  # \u276f: a prompt sign
_PROGRAMS = re.compile(
    r"^(?:npm|npx|pnpm|yarn|bun|bunx|node|vitest|jest|pytest|python3?|uv|pip3?|poetry|go|cargo|"
    r"make|docker|git|gh|tsc|eslint|ruff|mypy|mvn|gradle|dotnet|php|composer|bundle|rake|rails)\b"
)


def _pasted_command(text: str) -> str:
    """The command shown in a pasted log ("$ npm test", "> vitest run", "Run npm ci")."""
    found = ""
    for line in sg.plain(text).splitlines():
        match = _PASTED_COMMAND.match(line)
        if match and _PROGRAMS.match(match.group(1)):
            found = " ".join(match.group(1).split())[:200]
        elif found and sg.ERROR_LINE.search(line):
            break
    return found


def _own_words(text: str) -> str:
    """The lines of a prompt the user wrote, not the logs they pasted."""
    lines = [
        ln.strip()
        for ln in text.splitlines()
        if ln.strip() and not _LOG_LINE.match(ln) and not sg.ERROR_LINE.search(ln)
    ]
    return " ".join(" ".join(lines).split())


def _quote(text: str, cue: re.Match[str] | None, limit: int = 160) -> str:
    """The user's words, cut to ``limit`` around the first cue (cuts marked with …)."""
    text = " ".join(sg.plain(text).split())
    if len(text) <= limit:
        return text
    start = 0
    if cue is not None and cue.start() > limit - 60:
        start = text.rfind(" ", 0, max(0, cue.start() - 40)) + 1
        if start <= 0:
            start = max(0, cue.start() - 40)
    piece = text[start : start + limit]
    if start + limit < len(text):
        cut = piece.rfind(" ")
        piece = (piece[:cut] if cut > limit // 2 else piece).rstrip(" ,;:") + "…"
    return ("…" if start else "") + piece


def _sentences(text: str, limit: int) -> str:
    text = " ".join(sg.plain(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("。"))
    if end > limit // 3:
        return cut[: end + 1]
    return cut[: cut.rfind(" ")].rstrip(" ,;:") + "…" if " " in cut else cut + "…"


def _explanation(text: str) -> str:
    """The assistant's first informative sentence (no bare exclamation in front)."""
    text = _EXCLAIM.sub("", " ".join(sg.plain(text).split())).strip()
    if len(text) < 20:
        return ""
    return _sentences(text, 200)


def _outcome(text: str) -> str:
    """A check's summary line: the last line that reports success or counts."""
    lines = [ln.strip() for ln in sg.plain(text).splitlines() if ln.strip()]
    for line in reversed(lines):
        if sg.SUCCESS_LINE.search(line) and len(line) <= 200:
            return " ".join(line.split())
    return ""
