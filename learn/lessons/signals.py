"""The patterns lesson extraction recognises: error lines, harness noise, the user's cues (in
several languages), verification commands. Patterns only; no state."""

from __future__ import annotations

import functools
import re
import shlex

__all__ = [
    "ACK",
    "AGENT_TOOLS",
    "ANSI",
    "ANSI_RESIDUE",
    "BLOCKER",
    "COMMIT_HOOKS",
    "CONTROL",
    "CORRECTION_CUES",
    "ECHOING",
    "EDIT_TOOLS",
    "ERROR_LINE",
    "HARNESS",
    "MESSAGE_TOOLS",
    "PLAN_TOOLS",
    "QUESTION_ONLY",
    "RECURRING_MIN",
    "RECURRING_ONLY",
    "REJECTION",
    "SHELL_ERROR",
    "SHELL_TOOLS",
    "STRONG_CUES",
    "SUCCESS_LINE",
    "TEST_RUNNER",
    "USER_SAID",
    "VERIFY",
    "Folded",
    "best_error",
    "clean_command",
    "error_lines",
    "harness_kind",
    "is_check",
    "plain",
    "program",
    "reads_content",
    "segments",
    "telling_score",
]


class Folded:
    """A case-insensitive pattern whose :meth:`search` is fast on ASCII text.

    ``re.IGNORECASE`` compares every character both ways; on ASCII text the same search is a
    plain one for the lower-cased pattern in the lower-cased text (several times faster): the
    same positions match, since lower-casing ASCII keeps lengths and letters. The match is then
    taken with the original pattern at that position, so callers get exactly what
    ``pattern.search(text)`` gives. Text with other characters is searched as before (Unicode
    case-insensitivity has cases lower-casing does not mirror, such as the Kelvin sign).
    """

    def __init__(self, pattern: str, flags: int = re.I, *, needs: tuple[str, ...] = ()) -> None:
        """``needs``: lower-case words one of which every match contains (an ASCII text with
        none of them is passed over without a search)."""
        self.pattern = re.compile(pattern, flags)
        self._lower = re.compile(_lower_letters(pattern), flags & ~re.I)
        self.needs = needs

    def search(self, text: str) -> re.Match[str] | None:
        if not text.isascii():
            return self.pattern.search(text)
        low = text.lower()
        if self.needs and not any(word in low for word in self.needs):
            return None
        found = self._lower.search(low)
        if found is None:
            return None
        return self.pattern.match(text, found.start()) or self.pattern.search(text)


def _lower_letters(pattern: str) -> str:
    """``pattern`` with its literal letters in lower case (escapes such as ``\\S`` and ``\\W``
    keep their meaning)."""
    return re.sub(r"\\.|[A-Z]+", lambda m: m[0] if m[0][0] == "\\" else m[0].lower(), pattern)


SHELL_TOOLS = frozenset({"Bash", "PowerShell", "BashOutput"})
EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
PLAN_TOOLS = frozenset({"ExitPlanMode", "exit_plan_mode"})

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Residues of ANSI codes whose ESC byte was lost on the way ("[31m", "[1;32m", "[2K").
ANSI_RESIDUE = re.compile(r"\[(?:\?\d{1,4}[hl]|\d{1,3}(?:;\d{1,3})*[mKGHJ])(?!\])")


def plain(text: str) -> str:
    """Text without terminal colour codes and control characters (tabs and newlines kept)."""
    text = ANSI.sub("", text)
    text = ANSI_RESIDUE.sub("", text)
    return CONTROL.sub("", text.replace("\t", " "))


# --- errors -----------------------------------------------------------------------------------

# A line that reports a failure. Matched per line, so file contents that merely mention
# "error" (a variable, a message string) rarely qualify: the line must be shaped like a report.
ERROR_LINE = Folded(
    r"^\s*(?:E\s+)?(?:[\w.$]*(?:Error|Exception|Failure)\b(?:\s*\[\w+\])?:?\s"
    r"|(?:error|fatal|ERROR|FATAL|Error)\b[:!\s\]]"
    r"|npm (?:ERR!|error)\s|\S+:\s*error:|usage error|Usage Error|FAIL(?:ED)?\b|✗|\u00d7\s"
    r"|panic:|Traceback \(most recent call last\)|\d+:\d+\s+(?:error|warning)\b)"
    r"|\b(?:command not found|no matches found|No such file or directory|Permission denied"
    r"|is not defined|is not a function|Cannot find (?:module|dependency|package|name)"
    r"|cannot access|Could(?:n't| not) find|Module not found|not recognized as|"
    r"Shell cwd was reset|exceeds maximum allowed|a terminal is required|"
    r"Failed to compile|failed with|exited with code [1-9]|exit code [1-9]|"
    r"\b[1-9]\d{0,3} failed\b|\bFound [1-9]\d* errors?\b|\b[1-9]\d* errors? (?:found|in)\b)",
    re.I,
    # What every alternative above contains, in lower case (the two non-ASCII marks aside).
    needs=(
        *("error", "exception", "fatal", "npm err", "fail", "panic:", "traceback (", "warning"),
        *("command not found", "no matches found", "no such file or directory", "could"),
        *("permission denied", "is not defined", "is not a function", "cannot find"),
        *("cannot access", "module not found", "not recognized as", "shell cwd was reset"),
        *("exceeds maximum allowed", "a terminal is required", "exit"),
    ),
)
_NAMED_ERROR = re.compile(r"\b[A-Z]\w*(?:Error|Exception)\b")
_TELLING = Folded(
    r"not a function|is not defined|cannot|can't|couldn't|could not|not found|no such|"
    r"no matches|denied|required|must|expected|missing|unexpected|invalid|unterminated|does not exist|"
    r"conflict|exceeds|refus|not recognized|never used|blocked|reset to|is a directory|"
    r"illegal|forbidden|\b40[134]\b|timed? ?out|not supported|deprecated|already exists",
    re.I,
)
_GENERIC = Folded(
    r"^(?:error:?\s*)?(?:exit code \d+|process completed with exit code|command failed|"
    r"npm (?:ERR!|error) (?:A complete log|code|path|errno|syscall)|error$|failed$|"
    r"error: process completed)|\blog of this run\b|^FAILED\s*$|^=+",
    re.I,
)
_ALL_CLEAR = Folded(r"\b0 (?:remaining|failed|errors?|failures)\b", re.I)
_BANNER = re.compile(r"^[\W_]*(?:errors?|failures?|failed tests?)?[\W_]*$", re.I)


def error_lines(text: str, limit: int = 40) -> list[str]:
    """The lines of ``text`` that report a failure, in order (at most ``limit``)."""
    found: list[str] = []
    for line in plain(text).splitlines():
        line = line.strip()[:500]
        if (
            line
            and len(line) < 2_000
            and ERROR_LINE.search(line)
            and not _BANNER.match(line)
            and not _ALL_CLEAR.search(line)
        ):
            found.append(line)
            if len(found) >= limit:
                break
    return found


_ERRORISH = Folded(r"error|fail")
_WARNING = re.compile(r"(?:npm )?warn(?:ing)?\b", re.I)


def telling_score(line: str) -> int:
    """How much a single error line says about the failure (higher is better)."""
    line = line[:240]
    score = 0
    if _NAMED_ERROR.search(line):
        score += 3
    if _TELLING.search(line):
        score += 3
    if _ERRORISH.search(line):
        score += 1
    if _GENERIC.search(line):
        score -= 5
    if len(line) < 12:
        score -= 2
    if _WARNING.match(line):
        score -= 3
    if line.startswith(("at ", 'File "', "│", "|")):
        score -= 2
    return score


def best_error(lines: list[str]) -> str:
    """The most telling of ``lines`` (the first one wins a tie), tidied."""
    cleaned = [_tidy(ln) for ln in lines]
    cleaned = [ln for ln in cleaned if ln]
    if not cleaned:
        return ""
    return max(enumerate(cleaned), key=lambda item: (telling_score(item[1]), -item[0]))[1]


_TOOL_USE_ERROR_TAG = re.compile(r"</?tool_use_error>")
_LINE_MARK = re.compile(r"^(?:E\s+|[>|│]\s*)")


def _tidy(line: str) -> str:
    line = _TOOL_USE_ERROR_TAG.sub("", plain(line)).strip()
    line = _LINE_MARK.sub("", line)
    return " ".join(line.split())


# --- harness noise ----------------------------------------------------------------------------

REJECTION = re.compile(
    r"The user doesn't want to (?:proceed with this tool use|take this action right now)[^\n]*",
    re.I,
)
USER_SAID = Folded(r"the user said:\s*(.+)", re.I | re.S)
# Harness messages that teach nothing about the repository by themselves.
HARNESS: dict[str, Folded | re.Pattern[str]] = {
    "read-before-edit": Folded(r"has not been read yet|Read it first before", re.I),
    "modified-since-read": Folded(r"modified since read", re.I),
    "edit-mismatch": Folded(
        r"String to replace not found|Found \d+ matches of the string|No changes to make|"
        r"old_string and new_string are (?:exactly )?the same",
        re.I,
    ),
    "cancelled": Folded(
        r"Cancelled: parallel tool call|Interrupted by user|"
        r"\[Request interrupted by user",
        re.I,
    ),
    "input": Folded(r"InputValidationError|No such tool available|Invalid tool parameters", re.I),
    "rejected": REJECTION,
}
# Harness errors worth a lesson only when they recur (they then change behaviour).
RECURRING_ONLY = frozenset({"modified-since-read"})
RECURRING_MIN = 3


def harness_kind(text: str) -> str:
    for kind, pattern in HARNESS.items():
        if pattern.search(text):
            return kind
    return ""


# --- shell commands ---------------------------------------------------------------------------

_ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Commands that print files or search results: their output is content, not an outcome.
_READERS = re.compile(
    r"^(?:cat|head|tail|less|more|grep|rg|ag|ack|find|fd|ls|tree|wc|sed -n|awk|echo|printf|"
    r"git (?:log|show|diff|status|blame|grep)|jq|diff|stat|file|which|type|Get-Content|"
    r"Select-String|sort|uniq|cut|nl|od|xxd)\b"
)


_SEGMENT_BREAK = re.compile(r"&&|\|\||;|\n")
_NAVIGATION = re.compile(r"^(?:cd|pushd|set|export|source|\.)\s")


def segments(command: str) -> list[str]:
    """The simple commands of a shell line (split on && || ; and newlines), without cd."""
    parts = _SEGMENT_BREAK.split(command)
    out = []
    for part in parts:
        part = part.strip()
        if part and not _NAVIGATION.match(part):
            out.append(part)
    return out


# What makes shlex.split differ from str.split: quotes, escapes, blanks other than its own.
_SHELL_SYNTAX = re.compile(r"""['"\\]|[^\S \t\r\n]""")


def _words(line: str) -> list[str]:
    """``shlex.split(line)`` (``line.split()`` when the quoting is broken). shlex is slow pure
    Python; a line without quotes, escapes and unusual blanks splits the same with
    ``str.split``."""
    if _SHELL_SYNTAX.search(line) is None:
        return line.split()
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


@functools.lru_cache(maxsize=1024)  # the same command is asked about several times per event
def program(command: str) -> str:
    """The program a shell line runs ('python -m pytest', 'npm run build', 'git commit')."""
    segs = segments(command[:2_000])
    last = (segs[-1].split("|")[0] if segs else command)[:300]
    words = [w for w in _words(last) if not _ENV_ASSIGN.match(w)]
    if not words:
        return ""
    head = words[0].rsplit("/", 1)[-1]
    if (
        head in ("python", "python3", "uv", "poetry", "pipenv")
        and len(words) > 2
        and (words[1] in ("-m", "run"))
    ):
        return " ".join([head, *words[1:3]])
    if head in ("npm", "pnpm", "yarn", "bun") and len(words) > 1:
        if words[1] == "run" and len(words) > 2:
            return f"{head} run {words[2]}"
        return f"{head} {words[1]}"
    if head in ("git", "cargo", "go", "docker", "make", "npx", "php", "dotnet", "gh"):
        return " ".join([head, *words[1:2]])
    return head


def reads_content(command: str) -> bool:
    """True when every segment only prints files or searches (its output is not an outcome)."""
    segs = segments(command)
    return bool(segs) and all(_READERS.match(s.split("|")[0].strip()) for s in segs)


VERIFY = re.compile(
    r"^(?:npx |bunx |uv run |poetry run |pipenv run |python3? -m |\./)?(?:pytest|py\.test|unittest|tox|nox|mypy|pyright|ruff (?:check|format --check)|"
    r"flake8|pylint|black --check|eslint|tsc|jest|vitest|mocha|karma|playwright test|"
    r"cypress run|(?:npm|pnpm|yarn|bun)(?: run)? (?:test|lint|build|check|typecheck|"
    r"type-check|e2e)[\w:-]*|yarn \w*test\w*|cargo (?:test|check|clippy|build)|"
    r"go (?:test|vet|build)|golangci-lint|make(?: -\S+)*(?: \S+)? ?(?:test|check|lint|build)|"
    r"gradlew? (?:test|build|check)|mvn (?:test|verify|package)|ctest|rspec|phpunit|"
    r"php artisan test|dotnet (?:test|build)|docker build|next build|vite build|swift test|"
    r"shellcheck|prettier --check|stylelint)\b"
)


def is_check(command: str) -> bool:
    """True when one of the command's segments runs a test, build, lint or type check."""
    return any(VERIFY.match(seg.split("|")[0].strip()) for seg in segments(command))


# Commands whose output echoes what they were given (a commit message), not an outcome.
SHELL_ERROR = re.compile(
    r"no matches found|command not found|Permission denied|^fatal:|^error:|not a git repository",
    re.I,
)
ECHOING = re.compile(r"^git (?:commit|add|tag|stash|checkout|switch|reset)\b")
TEST_RUNNER = re.compile(
    r"\b(?:pytest|py\.test|unittest|tox|jest|vitest|mocha|karma|playwright test|cypress run|"
    r"(?:npm|pnpm|yarn|bun)(?: run)? test[\w:-]*|yarn \w*test\w*|cargo test|go test|"
    r"make test|mvn test|rspec|phpunit|php artisan test|dotnet test|swift test|ctest)\b"
)
COMMIT_HOOKS = re.compile(r"lint-staged|husky|pre-commit|\bhook\b", re.I)
SUCCESS_LINE = Folded(
    r"\b\d+ (?:passed|passing|tests? passed)\b|\bpassed\b|\bpassing\b|\bsuccess(?:ful(?:ly)?)?\b|"
    r"Compiled|Built\b|built in|\bno (?:issues|errors|problems)\b|All checks passed|"
    r"\b0 (?:errors|failures|failed)\b|\d+ fixed|\bOK\b|✓|✔|Found 0|Coverage",
    re.I,
)


def clean_command(command: str, *, from_check: bool = False) -> str:
    """A command as a person would retype it: no `cd … &&`, no output plumbing (and with
    ``from_check``, nothing before the first test/build/lint segment)."""
    segs = segments(command)
    if from_check:
        first = next((i for i, s in enumerate(segs) if VERIFY.match(s.split("|")[0].strip())), 0)
        segs = segs[first:]
    text = " && ".join(segs) if segs else command.strip()
    if "<<" in text:  # a heredoc: its body is content, keep the command line
        text = text.split("<<", 1)[0].strip() + " <<…"
    text = re.sub(r"\s*2>&1", "", text)
    text = re.sub(r"\s*\|\s*(?:head|tail|grep|cat|tee|less)\b[^|&;]*", "", text)
    text = re.sub(r"\s*[12]?>\s*/dev/null", "", text)
    text = re.sub(r"\s*&&\s*", " && ", text)
    return " ".join(text.split())


# --- the user's words -------------------------------------------------------------------------

# Cues that a prompt corrects, redirects, reports a problem or states a rule. English,
# Japanese, Chinese, Spanish; matched anywhere in the prompt.
CORRECTION_CUES = Folded(
    r"\b(?:no|nope|don'?t|dont|do not|never|stop|wrong|instead|rather than|revert|undo|"
    r"remove|forget|without|not what|isn'?t|aren'?t|doesn'?t|didn'?t|won'?t|can'?t|cannot|not working|"
    r"broken|still|again|should(?:n'?t)?|must|always|prefer|I want|I'?d like|I don'?t like|"
    r"simplify|only|avoid|make sure|ensure|be aware|we use|we already|use \w+ (?:instead|too|on)|"
    r"lets use|let'?s use|bug|issue|problem|collide|overlap|missing|too (?:long|big|small|much)|"
    r"error|fail(?:s|ed|ing)?|mistake|incorrect|why did|got stuck|stuck|not (?:right|correct))\b"
    r"|ない|ません|ないで|しないで|やめ|違う|ではなく|じゃなく|だけ|のみ|問題|うまく|動作し|"
    r"動かな|見えな|消え|同色|おかしい|エラー|直して|修正|"
    r"不要|别|不是|不对|错|去除|删除|去掉|仅|只|不影响|简洁|保持一致|参考|应该|必须|优化|问题|"
    r"丢失|没有|失败|报错|不能|无法|希望|"
    r"\b(?:nunca|en lugar de|en vez de|mal|no funciona|quita|elimina|prefiero|siempre|"
    r"debe|deber[ií]a|usa|error|falla)\b"
    # German, French, Portuguese, Korean: the commonest negations and reports
    r"|\b(?:nicht|kein\w*|statt|falsch|funktioniert nicht|pas|au lieu de|ne marche pas|"
    r"ne fonctionne pas|não|em vez de|não funciona|errado)\b|안 돼|안돼|하지 ?마|대신|오류|문제",
    re.I,
)
# Prompts that only acknowledge or continue.
ACK = re.compile(
    r"^\W*(?:y|yes|yep|ok(?:ay)?|sure|go|go ahead|continue|proceed|do it|done|thanks?|"
    r"thank you|cool|great|perfect|next|lgtm|sounds good|继续|执行|同意|可以|好的?|是|否|"
    r"はい|お願いします|ありがとう\S*|続けて|sí|si|vale|gracias|continúa)\W*(?:please)?\W*$",
    re.I,
)
# What a subagent's report says when it was stopped.
BLOCKER = Folded(
    r"\bblock(?:ed|ing)\b|\bcould(?:n'?t| not)\b|\bunable to\b|\bis not set\b|"
    r"\bwas not set\b|\bnot permitted\b|\bdenied\b|\bprevent(?:ed|s)\b",
    re.I,
)
AGENT_TOOLS = frozenset({"Agent", "Task"})
MESSAGE_TOOLS = frozenset({"SendMessage"})
QUESTION_ONLY = re.compile(r"^[^\n]{0,200}[?\uff1f]\s*$")  # \uff1f: a full-width "?"
# The subset of cues that plainly correct or report something wrong.
STRONG_CUES = Folded(
    r"\b(?:no|nope|don'?t|dont|do not|never|stop|wrong|instead|rather than|revert|undo|remove|"
    r"forget|not what|not working|doesn'?t work|broken|I don'?t like|avoid|be aware|we use|"
    r"we already|lets use|let'?s use|only|too (?:long|big|small|much)|collide|overlap|"
    r"why did|got stuck|incorrect|mistake|simplify|prevent|ever again|from now on|next time|"
    r"going forward|before (?:you )?(?:push|commit|merg)\w*)\b"
    r"|しないで|ないで|やめ|違う|ではなく|じゃなく|だけ|のみ|動作しない|動かない|うまく|見えな|消え|同色|"
    r"おかしい|不要|别|不是|不对|错|去除|删除|去掉|仅|只改|不影响|丢失|失败|报错|"
    r"\b(?:nunca|en lugar de|en vez de|no funciona|quita|elimina|prefiero)\b"
    r"|\b(?:funktioniert nicht|statt|au lieu de|ne marche pas|ne fonctionne pas|em vez de|"
    r"não funciona)\b|안 돼|안돼|하지 ?마|대신",
    re.I,
)
