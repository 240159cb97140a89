"""The plan issue's ``plan-header`` metadata block: find it, read it, update it in place.

A plan issue's body carries erk-style metadata blocks::

    <!-- erk:metadata-block:plan-header -->
    <details>
    <summary><code>plan-header</code></summary>

    ```yaml
    schema_version: '2'
    last_remote_impl_run_id: '21202876864'
    ...
    ```

    </details>
    <!-- /erk:metadata-block:plan-header -->

Parsing is tolerant (``<code>`` optional, closing marker with or without its key, CRLF, a bare
```` ``` ```` fence, other blocks around it). Updating edits only the YAML text between the fences
and keeps the diff minimal: an existing ``key: value`` entry is replaced where it stands, a new
key is appended, a ``None`` value removes the key's entry. Every update is verified by re-parsing
the new body; text outside the YAML is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from learn.errors import LearnError, UsageError

__all__ = [
    "ALREADY_LEARNED",
    "COMPLETED_NO_CHANGES",
    "FAILED",
    "HEADER_KEY",
    "NOT_STARTED",
    "PENDING",
    "PENDING_REVIEW",
    "ArtifactRef",
    "HeaderBlock",
    "PlanHeader",
    "find_header",
    "is_already_learned",
    "is_learnable",
    "parse_issue_number",
    "read_header",
    "render_entry",
    "require_header",
    "session_sources",
    "update_header",
]

HEADER_KEY = "plan-header"

# -- status lifecycle -------------------------------------------------------------------------

NOT_STARTED = "not_started"
PENDING = "pending"
PENDING_REVIEW = "pending_review"
COMPLETED_NO_CHANGES = "completed_no_changes"
FAILED = "failed"

ALREADY_LEARNED: frozenset[str] = frozenset(
    {
        "pending_review",
        "completed_no_changes",
        "completed",
        "completed_no_plan",
        "completed_with_plan",
        "plan_completed",
    }
)


def _norm_status(status: object) -> str:
    if status is None:
        return NOT_STARTED
    text = str(status).strip().lower()
    return text or NOT_STARTED


def is_already_learned(status: object) -> bool:
    """True for the statuses that mean "skip unless --force"."""
    return _norm_status(status) in ALREADY_LEARNED


def is_learnable(status: object) -> bool:
    """``not_started``/absent, ``failed``, ``pending`` (a previous run died) and unknown values."""
    return not is_already_learned(status)


# -- finding the block ------------------------------------------------------------------------

_OPEN_RE = re.compile(r"<!--[ \t]*erk:metadata-block:plan-header[ \t]*-->")
_ANY_MARKER_RE = re.compile(r"<!--[ \t]*/?[ \t]*erk:metadata-block\b[^>]*-->")
_CLOSE_RE = re.compile(r"<!--[ \t]*/[ \t]*erk:metadata-block(?::([^\s>]*))?[ \t]*-->")
# A fence line: up to 3 spaces, 3+ backticks, optional "yaml"/"yml" info string.
_FENCE_OPEN_RE = re.compile(r"^ {0,3}(`{3,})[ \t]*(?:yaml|yml)?[ \t]*\r?$", re.M | re.I)
_FENCE_CLOSE_TMPL = r"^ {{0,3}}`{{{n},}}[ \t]*\r?$"


@dataclass(frozen=True, slots=True)
class HeaderBlock:
    """Where the plan-header block lies in a body (character offsets into the body)."""

    start: int  # the opening marker
    end: int  # after the closing marker (or after the closing fence if the marker is missing)
    yaml_start: int  # first character of the YAML text (the line after the opening fence)
    yaml_end: int  # start of the closing fence line
    yaml_text: str
    newline: str  # "\r\n" or "\n", as the block uses


def find_header(body: str) -> HeaderBlock | None:
    """The ``plan-header`` block of ``body``; ``None`` if there is none.

    Raises ``LearnError`` when the block exists but has no YAML fence.
    """
    opening = _OPEN_RE.search(body)
    if opening is None:
        return None
    # The YAML fence must come before any other marker (our closing one, or another block's).
    next_marker = _ANY_MARKER_RE.search(body, opening.end())
    limit = next_marker.start() if next_marker else len(body)
    fence = _FENCE_OPEN_RE.search(body, opening.end(), limit)
    if fence is None:
        raise LearnError(
            "the plan-header metadata block has no ```yaml fence",
            fix="the block must hold its fields in a ```yaml ... ``` code block",
        )
    yaml_start = fence.end() + 1 if fence.end() < len(body) else fence.end()
    closing_fence = re.compile(_FENCE_CLOSE_TMPL.format(n=len(fence.group(1))), re.M).search(
        body, yaml_start
    )
    if closing_fence is None:
        raise LearnError("the plan-header metadata block's ```yaml fence is never closed")
    yaml_end = closing_fence.start()
    end = closing_fence.end()
    # The closing marker (key optional) normally follows; tolerate it missing.
    next_marker = _ANY_MARKER_RE.search(body, end)
    if next_marker is not None:
        close = _CLOSE_RE.fullmatch(next_marker.group(0))
        if close is not None and close.group(1) in (None, "", HEADER_KEY):
            end = next_marker.end()
    fence_line = body[fence.start() : yaml_start]
    yaml_text = body[yaml_start:yaml_end]
    crlf = "\r\n" in yaml_text or fence_line.endswith("\r\n")
    return HeaderBlock(
        start=opening.start(),
        end=end,
        yaml_start=yaml_start,
        yaml_end=yaml_end,
        yaml_text=yaml_text,
        newline="\r\n" if crlf else "\n",
    )


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    problem = " ".join(str(problem).split())
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{problem} (YAML line {mark.line + 1}, column {mark.column + 1})"
    return problem


def _parse_yaml(text: str) -> dict[Any, Any]:
    try:
        data = yaml.load(text, Loader=_Loader)  # CSafeLoader when libyaml is there
    except yaml.YAMLError as exc:
        raise LearnError(
            f"the plan-header metadata block is not valid YAML: {_yaml_problem(exc)}",
            fix="fix the YAML in the issue body",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LearnError(
            f"the plan-header metadata block is not a YAML mapping (it is a {_kind(data)})",
            fix="the block must hold `key: value` lines",
        )
    return data


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def read_header(body: str) -> dict[str, Any] | None:
    """The fields of the plan-header block; ``None`` if the body has none."""
    block = find_header(body)
    if block is None:
        return None
    return _parse_yaml(block.yaml_text)


def require_header(body: str) -> dict[str, Any]:
    """Like ``read_header`` but a body without the block is a ``UsageError`` (not a plan)."""
    fields = read_header(body)
    if fields is None:
        raise _not_a_plan()
    return fields


def _not_a_plan() -> UsageError:
    return UsageError(
        "not a plan: the issue body has no plan-header metadata block",
        fix="pass --session to learn from a session without a plan",
    )


# -- updating the block -----------------------------------------------------------------------

_BREAKS_RE = re.compile("[\n\r\x85\u2028\u2029]")
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(yaml.SafeDumper):
    """Safe dumper that writes strings with line breaks double-quoted (escaped, on one line), so a
    value can never put a fence or marker line into the block."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if _BREAKS_RE.search(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_str(data)


_Dumper.add_representer(str, _represent_str)


def _dump(data: Mapping[Any, Any]) -> str:
    try:
        return yaml.dump(
            dict(data),
            Dumper=_Dumper,
            default_flow_style=False,
            sort_keys=False,
            allow_unicode=True,
            width=1_000_000_000,
        )
    except yaml.YAMLError as exc:
        raise LearnError(f"cannot write {_kind(data)} to the plan-header block: {exc}") from None


def render_entry(key: str, value: object) -> str:
    """The ``key: value`` text (no trailing newline) for one field, safely quoted."""
    return _dump({key: value}).rstrip("\n")


def _content_end(node: yaml.Node) -> int | None:
    """Index just after the last character of a node's own content (not trailing comments)."""
    if isinstance(node, yaml.ScalarNode):
        if node.value == "" and node.style is None:  # an empty (null) value has no content
            return None
        return int(node.end_mark.index)
    if isinstance(node, yaml.SequenceNode | yaml.MappingNode) and not node.flow_style:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            for k, v in node.value:
                children += [k, v]
        ends = [e for e in (_content_end(c) for c in children) if e is not None]
        if ends:
            return max(ends)
    return int(node.end_mark.index)


@dataclass(slots=True)
class _Entry:
    key: str | None  # None: not a plain string key (left alone)
    start: int  # start of the key's line
    end: int  # after the line (incl. its newline) holding the entry's last content


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    nl = text.find("\n", index)
    return len(text) if nl < 0 else nl + 1


_LEAD_RE = re.compile(r"( *)(?:\? +)?")  # indentation, and "? " before an explicit key


def _entries(text: str) -> tuple[list[_Entry], str] | None:
    """Top-level entries of a block mapping with their line spans, and the key indentation;
    ``None`` when the text is not a simple block mapping (then the caller re-dumps)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if root is None:
        return [], ""
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return None
    entries: list[_Entry] = []
    indent: str | None = None
    for key_node, value_node in root.value:
        start = _line_start(text, key_node.start_mark.index)
        lead = _LEAD_RE.fullmatch(text[start : key_node.start_mark.index])
        if lead is None:  # a key not first on its line
            return None
        if indent is None:
            indent = lead.group(1)
        elif lead.group(1) != indent:
            return None
        last = max(int(key_node.end_mark.index), _content_end(value_node) or 0)
        while last > key_node.end_mark.index and text[last - 1] in " \t\r\n":
            last -= 1
        end = _line_end(text, last)
        if entries and start < entries[-1].end:
            return None
        is_str = isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:str"
        entries.append(_Entry(key_node.value if is_str else None, start, end))
    return entries, indent or ""


def _edit_lines(text: str, rendered: Mapping[str, str | None], newline: str) -> str | None:
    """Line edits of the YAML text: ``rendered`` maps each key to its ``key: value`` text, or to
    ``None`` to remove it. ``None`` when the text is not a simple block mapping."""
    found = _entries(text)
    if found is None:
        return None
    entries, indent = found

    def render(entry: str) -> str:
        return "".join(indent + line + newline for line in entry.split("\n"))

    edits: list[tuple[int, int, str]] = []
    appended: list[str] = []
    for key, entry in rendered.items():
        mine = [e for e in entries if e.key == key]
        if not mine:
            if entry is not None:
                appended.append(render(entry))
            continue
        first, *rest = mine
        edits.append((first.start, first.end, "" if entry is None else render(entry)))
        edits += [(e.start, e.end, "") for e in rest]  # duplicated keys collapse into one
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    if appended:
        if text and not text.endswith("\n"):
            text += newline
        text += "".join(appended)
    return text


def _redump(old: Mapping[Any, Any], expected: Mapping[Any, Any], newline: str) -> str:
    ordered = {k: expected[k] for k in old if k in expected}
    ordered.update({k: v for k, v in expected.items() if k not in ordered})
    if not ordered:
        return ""
    return _dump(ordered).replace("\n", newline)


def _same(a: object, b: object) -> bool:
    return a == b or repr(a) == repr(b)  # repr: tolerate NaN


def update_header(body: str, updates: Mapping[str, object | None]) -> str:
    """``body`` with the plan-header fields updated (``None`` removes a field).

    Only the YAML between the block's fences changes; everything else is kept byte for byte.
    Raises ``UsageError`` if the body has no plan-header block (not a plan) and ``LearnError`` if
    its YAML is invalid.
    """
    block = find_header(body)
    if block is None:
        raise _not_a_plan()
    for key in updates:
        if not isinstance(key, str):
            raise LearnError(f"plan-header field names must be strings, not {key!r}")
    # Rendering first also fails early on values YAML cannot represent.
    rendered = {k: None if v is None else render_entry(k, v) for k, v in updates.items()}
    old = _parse_yaml(block.yaml_text)
    expected = {k: v for k, v in {**old, **updates}.items() if v is not None}

    def attempt(new_yaml: str | None) -> str | None:
        if new_yaml is None:
            return None
        new_body = body[: block.yaml_start] + new_yaml + body[block.yaml_end :]
        return new_body if _verify(new_body, block, new_yaml, expected) else None

    new_body = attempt(_edit_lines(block.yaml_text, rendered, block.newline))
    if new_body is None:
        # Fallback for YAML the line edit cannot handle (flow style, anchors used by a removed
        # key...): rewrite the whole mapping, keys in their old order. Comments are lost.
        new_body = attempt(_redump(old, expected, block.newline))
    if new_body is None:
        raise LearnError("could not update the plan-header block without corrupting it")
    return new_body


def _verify(new_body: str, old: HeaderBlock, new_yaml: str, expected: dict[Any, Any]) -> bool:
    try:
        block = find_header(new_body)
        if block is None or block.start != old.start or block.yaml_start != old.yaml_start:
            return False
        if block.yaml_text != new_yaml:
            return False
        return _same(_parse_yaml(block.yaml_text), expected)
    except LearnError:
        return False


# -- the typed view ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """A session artifact: ``name`` uploaded by workflow run ``run_id``."""

    run_id: str
    name: str


def _opt_str(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool | list | dict):
        raise LearnError(
            f"plan-header field {key} must be a string, not a {_kind(value)}: {value!r}"
        )
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _run_id(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise LearnError(f"{where}: run_id must be a workflow run id, not {value!r}")
    return str(value).strip()


def _artifacts(value: object) -> tuple[ArtifactRef, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise LearnError(
            f"plan-header field session_artifacts must be a list of {{run_id, name}} mappings, "
            f"not a {_kind(value)}"
        )
    refs = []
    for i, item in enumerate(value, 1):
        where = f"plan-header session_artifacts item {i}"
        if not isinstance(item, dict):
            raise LearnError(f"{where} must be a {{run_id, name}} mapping, not a {_kind(item)}")
        if "run_id" not in item or "name" not in item:
            missing = " and ".join(k for k in ("run_id", "name") if k not in item)
            raise LearnError(f"{where} has no {missing}")
        name = item["name"]
        if not isinstance(name, str) or not name.strip():
            raise LearnError(f"{where}: name must be an artifact name, not {name!r}")
        refs.append(ArtifactRef(_run_id(item["run_id"], where), name.strip()))
    return tuple(refs)


def _pr(value: object) -> int | str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    m = re.fullmatch(r"#?([0-9]+)|.*/pull/([0-9]+)/?", text)
    if m:
        return int(m.group(1) or m.group(2))
    return text or None


@dataclass(frozen=True, slots=True)
class PlanHeader:
    """Typed view of the plan-header fields this project reads and writes; ``raw`` has them all."""

    schema_version: str | None = None
    learn_status: str = NOT_STARTED
    last_remote_impl_run_id: str | None = None
    last_remote_impl_session_id: str | None = None
    session_artifacts: tuple[ArtifactRef, ...] = ()
    learn_run_id: str | None = None
    learn_branch: str | None = None
    learn_pr: int | str | None = None  # a PR number when it is one, else the text as written
    last_learn_at: str | None = None
    learn_error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> PlanHeader:
        return cls(
            schema_version=_opt_str(fields, "schema_version"),
            learn_status=_norm_status(_opt_str(fields, "learn_status")),
            last_remote_impl_run_id=_opt_str(fields, "last_remote_impl_run_id"),
            last_remote_impl_session_id=_opt_str(fields, "last_remote_impl_session_id"),
            session_artifacts=_artifacts(fields.get("session_artifacts")),
            learn_run_id=_opt_str(fields, "learn_run_id"),
            learn_branch=_opt_str(fields, "learn_branch"),
            learn_pr=_pr(fields.get("learn_pr")),
            last_learn_at=_opt_str(fields, "last_learn_at"),
            learn_error=_opt_str(fields, "learn_error"),
            raw=dict(fields),
        )

    @classmethod
    def from_body(cls, body: str) -> PlanHeader:
        """Parse a plan issue body; ``UsageError`` if it has no plan-header block."""
        return cls.from_dict(require_header(body))

    @property
    def already_learned(self) -> bool:
        return is_already_learned(self.learn_status)


def session_sources(header: PlanHeader | Mapping[str, Any]) -> list[ArtifactRef]:
    """The session artifacts a plan points at: all of ``session_artifacts`` (deduplicated, in
    order) if present, else ``session-<last_remote_impl_session_id>`` from
    ``last_remote_impl_run_id``; ``[]`` when neither is there."""
    if not isinstance(header, PlanHeader):
        header = PlanHeader.from_dict(header)
    if header.session_artifacts:
        return list(dict.fromkeys(header.session_artifacts))
    run_id, session_id = header.last_remote_impl_run_id, header.last_remote_impl_session_id
    if run_id and session_id:
        return [ArtifactRef(run_id, f"session-{session_id}")]
    return []


# -- task inputs ------------------------------------------------------------------------------

_ISSUE_RE = re.compile(r"#?([0-9]+)", re.ASCII)


def parse_issue_number(value: str | int) -> int:
    """``12``, ``"12"``, ``" 12 "``, ``"#12"`` → 12; anything else is a ``UsageError``."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        m = _ISSUE_RE.fullmatch(value.strip())
        if m:
            number = int(m.group(1))
    if number is None or number <= 0:
        raise UsageError(f"issue number must be a positive whole number, not {value!r}")
    return number
