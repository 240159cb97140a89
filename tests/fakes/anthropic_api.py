"""A scripted loopback fake of the Anthropic Messages API, for driving the real ``claude`` CLI.

Stdlib only. Start it as a context manager and point the CLI at it with
``ANTHROPIC_BASE_URL=api.base_url``::

    with FakeAnthropic(script=[
        ToolUse("Read", lambda ctx: {"file_path": ctx.path("app.py")}),
        Text("It prints hello."),
    ]) as api:
        subprocess.run([claude, "-p", "what does app.py do?"], env=claude_env(api.base_url, home))
    assert api.main_requests[1].tool_results()[0].content.startswith("1\\t")

The **script** is consumed by *main-loop* requests only, one turn per request, in order:

* ``Text("...")`` answers with a text block and ``stop_reason: end_turn``;
* ``ToolUse(name, input)`` (or a list/tuple of blocks such as ``[Text("Let me look."),
  ToolUse("Read", {...}), ToolUse("Grep", {...})]``, or ``Reply(...)``) answers with those
  blocks and ``stop_reason: tool_use``;
* ``Thinking("...")`` may lead a list of blocks;
* ``Fail(status=500)`` answers with an API error (``times=n`` repeats it for retries);
* ``Slow(seconds, then=turn)`` waits before answering ``then`` (for timeout tests);
* any callable ``f(ctx) -> turn`` is called with the :class:`RequestContext` first, and the
  ``text`` of :class:`Text`/:class:`Thinking` and the ``input`` of :class:`ToolUse` may also be
  callables of the context (``ctx.cwd`` is parsed from the system prompt's
  ``Working directory: <cwd>`` line, so ``ctx.path("docs/x.md")`` gives an absolute path).

When the script is exhausted the fake answers ``Text(final_text)``.

*Side requests* - anything that is not the agent loop (title generation, quota probes, topic
or command-prefix classifiers, ...) - get a trivial text reply and never consume the script.
A request is *main* when it offers tools, or when its system prompt carries the environment
section (``working directory:``); see :func:`default_is_main`.

Every request is logged (:attr:`FakeAnthropic.requests`, :attr:`FakeAnthropic.main_requests`,
:meth:`FakeAnthropic.all_text_sent`) so tests can assert what did - or did not - reach the model.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "Fail",
    "FakeAnthropic",
    "RecordedRequest",
    "Reply",
    "RequestContext",
    "ScriptError",
    "Slow",
    "Text",
    "Thinking",
    "ToolResult",
    "ToolUse",
    "approx_tokens",
    "default_is_main",
]

# --------------------------------------------------------------------------------------------
# Script vocabulary
# --------------------------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits


def _rand_id(prefix: str, n: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(n))


@dataclass(frozen=True)
class Text:
    """A text block. As a whole turn it ends the agent loop (``stop_reason: end_turn``)."""

    text: str | Callable[[RequestContext], str]


@dataclass(frozen=True)
class Thinking:
    """A thinking block (with a fake signature); only meaningful before other blocks."""

    thinking: str | Callable[[RequestContext], str]


@dataclass(frozen=True)
class ToolUse:
    """A ``tool_use`` block. ``input`` may be a dict or ``f(ctx) -> dict``."""

    name: str
    input: dict[str, Any] | Callable[[RequestContext], dict[str, Any]] = field(default_factory=dict)
    id: str | None = None  # generated (``toolu_...``) when omitted


Block = Text | Thinking | ToolUse


@dataclass(frozen=True)
class Reply:
    """Several blocks in one assistant message. ``stop_reason`` defaults to ``tool_use`` when a
    :class:`ToolUse` is among them, else ``end_turn``."""

    blocks: tuple[Block, ...]
    stop_reason: str | None = None

    def __init__(self, *blocks: Block, stop_reason: str | None = None) -> None:
        object.__setattr__(self, "blocks", tuple(blocks))
        object.__setattr__(self, "stop_reason", stop_reason)


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Fail:
    """Answer with an HTTP error. ``body`` is a message string or a full JSON-able dict.

    ``times`` makes the failure repeat for that many consecutive main requests (the CLI retries
    408/409/429/5xx/529 itself, each retry being a new request, ``CLAUDE_CODE_MAX_RETRIES``
    times - default 10 - with 0.5 s, 1 s, 2 s, ... backoff that ``retry-after`` can only
    lengthen); ``times=None`` fails forever. ``headers`` are added to the response:
    ``{"x-should-retry": "false"}`` makes 2.1.x give up at once.
    """

    status: int = 500
    body: str | dict[str, Any] | None = None
    times: int | None = 1
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        if isinstance(self.body, dict):
            return self.body
        etype = _ERROR_TYPES.get(self.status, "api_error")
        msg = self.body if isinstance(self.body, str) else f"Fake {etype} ({self.status})"
        return {"type": "error", "error": {"type": etype, "message": msg}}


@dataclass(frozen=True)
class Slow:
    """Wait ``seconds`` before answering ``then`` (default: a short text). Returns early when
    the server shuts down. If the client gave up meanwhile the answer is simply dropped."""

    seconds: float
    then: Any = None


Turn = Any  # Text | ToolUse | Reply | Sequence[Block] | Fail | Slow | Callable[[ctx], Turn]


class ScriptError(RuntimeError):
    """A script callable raised, or a turn was malformed. Raised again on ``__exit__``."""


# --------------------------------------------------------------------------------------------
# Request context and log
# --------------------------------------------------------------------------------------------

_WD_RE = re.compile(r"(?:^|\n)\s*-?\s*(?:Primary )?[Ww]orking directory:\s*(\S[^\n]*)")


def approx_tokens(n_bytes: int) -> int:
    """The usual ~4 bytes per token estimate."""
    return max(1, (n_bytes + 3) // 4) if n_bytes else 0


def _walk_strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _walk_strings(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _walk_strings(v)


def _system_text(body: dict[str, Any]) -> str:
    system = body.get("system")
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    return ""


@dataclass(frozen=True)
class ToolResult:
    tool_use_id: str
    content: str  # text parts joined
    is_error: bool


def _tool_result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            c.get("text", "") for c in content if isinstance(c, dict) and c.get("type") == "text"
        )
    return ""


@dataclass
class RecordedRequest:
    """One request as the fake saw it."""

    index: int  # order of arrival, over all requests
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # auth headers removed
    body: Any  # parsed JSON (dict) when possible, else the raw text; None when empty
    size_bytes: int
    kind: str  # "main", "side" or "other" (not /v1/messages)
    turn: int | None = None  # script index answered, for main requests
    status: int | None = None  # HTTP status answered
    received_at: float = field(default_factory=time.time)

    @property
    def approx_tokens(self) -> int:
        return approx_tokens(self.size_bytes)

    @property
    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    @property
    def model(self) -> str | None:
        return self.json.get("model")

    @property
    def system_text(self) -> str:
        return _system_text(self.json)

    @property
    def messages(self) -> list[dict[str, Any]]:
        msgs = self.json.get("messages")
        return msgs if isinstance(msgs, list) else []

    @property
    def tool_names(self) -> list[str]:
        return [t.get("name", "") for t in self.json.get("tools") or [] if isinstance(t, dict)]

    @property
    def cwd(self) -> str | None:
        m = _WD_RE.search(self.system_text)
        return m.group(1).strip() if m else None

    def tool_results(self, last_only: bool = True) -> list[ToolResult]:
        """``tool_result`` blocks of the last user message (or of all messages)."""
        msgs = self.messages
        if last_only:
            msgs = [m for m in msgs if m.get("role") == "user"][-1:]
        out = []
        for m in msgs:
            content = m.get("content")
            if not isinstance(content, list):
                continue
            for b in content:
                if isinstance(b, dict) and b.get("type") == "tool_result":
                    out.append(
                        ToolResult(
                            tool_use_id=str(b.get("tool_use_id", "")),
                            content=_tool_result_text(b.get("content")),
                            is_error=bool(b.get("is_error", False)),
                        )
                    )
        return out

    def user_texts(self) -> list[str]:
        """Text of user messages (strings and ``text`` blocks), in order."""
        out: list[str] = []
        for m in self.messages:
            if m.get("role") != "user":
                continue
            c = m.get("content")
            if isinstance(c, str):
                out.append(c)
            elif isinstance(c, list):
                out.extend(
                    b.get("text", "") for b in c if isinstance(b, dict) and b.get("type") == "text"
                )
        return out

    def text_sent(self) -> str:
        """Every string in the body (system, messages, tool results, tool schemas)."""
        if isinstance(self.body, str):
            return self.body
        return "\n".join(_walk_strings(self.body))


@dataclass
class RequestContext:
    """What a script callable receives."""

    request: RecordedRequest
    turn: int  # index of the turn in the script
    fake: FakeAnthropic

    @property
    def cwd(self) -> str:
        cwd = self.request.cwd or self.fake.default_cwd
        if cwd is None:
            raise ScriptError("no 'Working directory:' in the system prompt and no default_cwd")
        return cwd

    def path(self, *parts: str) -> str:
        return os.path.join(self.cwd, *parts)

    @property
    def body(self) -> dict[str, Any]:
        return self.request.json

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.request.messages

    def tool_results(self) -> list[ToolResult]:
        return self.request.tool_results()

    @property
    def last_tool_result(self) -> ToolResult | None:
        r = self.tool_results()
        return r[-1] if r else None


def default_is_main(body: dict[str, Any], path: str) -> bool:
    """Main agent loop (or a subagent's loop) vs. a side request.

    Side requests made by Claude Code (title/topic generation, quota probe, bash command
    prefix detection, summaries) carry no ``tools`` and no environment section in the system
    prompt; agent-loop requests carry the tool list and ``Primary working directory: <cwd>``.
    ``max_tokens == 1`` is the quota probe whatever else it carries.
    """
    if not path.startswith("/v1/messages") or path.startswith("/v1/messages/count_tokens"):
        return False
    if body.get("max_tokens") == 1:
        return False
    if body.get("tools"):
        return True
    return "working directory:" in _system_text(body).lower()


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------

_REDACTED_HEADERS = {"x-api-key", "authorization", "proxy-authorization", "cookie"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the CLI opens several connections at once


class FakeAnthropic:
    """Scripted Messages-API fake on ``127.0.0.1:<ephemeral port>``. Thread-safe."""

    def __init__(
        self,
        script: Iterable[Turn] = (),
        *,
        final_text: str = "Done.",
        side_reply: str | Callable[[RecordedRequest], str] | None = None,
        is_main: Callable[[dict[str, Any], str], bool] = default_is_main,
        default_cwd: str | None = None,
        chunk_size: int = 40,
        raise_script_errors: bool = True,
    ) -> None:
        """
        ``side_reply``: text (or ``f(request) -> text``) answered to side requests; by default
        a minimal instance of the request's JSON schema when it asks for structured output
        (the title generator wants ``{"title": ...}``), else ``"OK"``.
        ``chunk_size``: text/JSON is streamed in deltas of this many characters.
        """
        self._script: list[Turn] = list(script)
        self.final_text = final_text
        self.side_reply = side_reply
        self.is_main = is_main
        self.default_cwd = default_cwd
        self.chunk_size = max(1, chunk_size)
        self.raise_script_errors = raise_script_errors
        self._lock = threading.RLock()
        self._pos = 0  # next script index
        self._fail_left: int | None = None  # remaining repeats of the current Fail turn
        self._log: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        if self._server is not None:
            return self
        self._stop.clear()
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        server = _Server(("127.0.0.1", 0), handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"FakeAnthropic:{server.server_address[1]}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.stop()
        if exc_type is None and self.raise_script_errors and self.errors:
            raise ScriptError(f"script callable failed: {self.errors[0]!r}") from self.errors[0]

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- script ----------------------------------------------------------------------------

    def extend(self, turns: Iterable[Turn]) -> None:
        """Append turns (e.g. for a second, resumed CLI run on the same fake)."""
        with self._lock:
            self._script.extend(turns)

    @property
    def position(self) -> int:
        """Index of the next script turn."""
        with self._lock:
            return self._pos

    @property
    def remaining(self) -> int:
        with self._lock:
            return max(0, len(self._script) - self._pos)

    def _next_turn(self) -> tuple[int | None, Turn]:
        with self._lock:
            if self._pos >= len(self._script):
                return None, Text(self.final_text)
            idx, turn = self._pos, self._script[self._pos]
            if isinstance(turn, Fail) and turn.times != 1:
                if self._fail_left is None:
                    self._fail_left = turn.times
                if self._fail_left is not None:
                    self._fail_left -= 1
                    if self._fail_left <= 0:
                        self._fail_left = None
                        self._pos += 1
                return idx, turn
            self._pos += 1
            return idx, turn

    # ---- log -------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    @property
    def main_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == "main"]

    @property
    def side_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == "side"]

    def all_text_sent(self, kinds: Sequence[str] = ("main", "side", "other")) -> str:
        """Every string the model was sent (system prompts, messages, tool results, tool
        schemas), decoded from JSON, over all logged requests of those kinds."""
        return "\n".join(r.text_sent() for r in self.requests if r.kind in kinds)

    def bytes_sent(self, kinds: Sequence[str] = ("main", "side")) -> int:
        return sum(r.size_bytes for r in self.requests if r.kind in kinds)

    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            rec.index = len(self._log)
            self._log.append(rec)

    # ---- responses -------------------------------------------------------------------------

    def _resolve(self, turn: Turn, ctx: RequestContext) -> Turn:
        for _ in range(10):
            if callable(turn) and not isinstance(turn, Text | Thinking | ToolUse | Reply):
                turn = turn(ctx)
            else:
                return turn
        raise ScriptError("callable turn nested too deeply")

    def _blocks_of(self, turn: Turn, ctx: RequestContext) -> tuple[list[dict[str, Any]], str]:
        if isinstance(turn, Reply):
            blocks, stop = list(turn.blocks), turn.stop_reason
        elif isinstance(turn, Text | Thinking | ToolUse):
            blocks, stop = [turn], None
        elif isinstance(turn, str):
            blocks, stop = [Text(turn)], None
        elif isinstance(turn, list | tuple):
            blocks, stop = list(turn), None
        else:
            raise ScriptError(f"not a script turn: {turn!r}")
        out: list[dict[str, Any]] = []
        for b in blocks:
            b = self._resolve(b, ctx)
            if isinstance(b, str):
                b = Text(b)
            if isinstance(b, Text):
                text = b.text(ctx) if callable(b.text) else b.text
                out.append({"type": "text", "text": str(text)})
            elif isinstance(b, Thinking):
                th = b.thinking(ctx) if callable(b.thinking) else b.thinking
                sig = secrets.token_urlsafe(48)
                out.append({"type": "thinking", "thinking": str(th), "signature": sig})
            elif isinstance(b, ToolUse):
                inp = b.input(ctx) if callable(b.input) else b.input
                if not isinstance(inp, dict):
                    raise ScriptError(f"ToolUse input must be a dict, got {inp!r}")
                out.append(
                    {
                        "type": "tool_use",
                        "id": b.id or _rand_id("toolu_01"),
                        "name": b.name,
                        "input": inp,
                    }
                )
            else:
                raise ScriptError(f"not a content block: {b!r}")
        if stop is None:
            stop = "tool_use" if any(o["type"] == "tool_use" for o in out) else "end_turn"
        return out, stop

    def _side_text(self, rec: RecordedRequest) -> str:
        if callable(self.side_reply):
            return self.side_reply(rec)
        if self.side_reply is not None:
            return self.side_reply
        fmt = (rec.json.get("output_config") or {}).get("format") or {}
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            return json.dumps(_schema_instance(fmt.get("schema") or {}))
        return "OK"


def _schema_instance(schema: dict[str, Any], name: str = "") -> Any:
    """A small value satisfying a simple JSON schema (for structured side requests)."""
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        keys = schema.get("required") or list(props)
        return {k: _schema_instance(props.get(k) or {}, k) for k in keys}
    if t == "array":
        return []
    if t in ("integer", "number"):
        return 0
    if t == "boolean":
        return False
    if t == "null":
        return None
    return "Scripted session" if name == "title" else "OK"


def _message(model: str, blocks: list[dict[str, Any]], stop: str, in_tok: int) -> dict[str, Any]:
    out_tok = approx_tokens(len(json.dumps(blocks)))
    return {
        "id": _rand_id("msg_01"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": in_tok,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": out_tok,
            "service_tier": "standard",
        },
    }


def _chunks(s: str, n: int) -> list[str]:
    return [s[i : i + n] for i in range(0, len(s), n)] or [""]


def _sse_events(msg: dict[str, Any], chunk: int) -> list[tuple[str, dict[str, Any]]]:
    start = dict(msg, content=[], stop_reason=None)
    start["usage"] = dict(msg["usage"], output_tokens=1)
    ev: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for i, b in enumerate(msg["content"]):
        if b["type"] == "text":
            ev.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": i,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
            for part in _chunks(b["text"], chunk):
                ev.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": i,
                            "delta": {"type": "text_delta", "text": part},
                        },
                    )
                )
        elif b["type"] == "thinking":
            ev.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": i,
                        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                    },
                )
            )
            for part in _chunks(b["thinking"], chunk):
                ev.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": i,
                            "delta": {"type": "thinking_delta", "thinking": part},
                        },
                    )
                )
            ev.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": i,
                        "delta": {"type": "signature_delta", "signature": b["signature"]},
                    },
                )
            )
        elif b["type"] == "tool_use":
            ev.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": i,
                        "content_block": {
                            "type": "tool_use",
                            "id": b["id"],
                            "name": b["name"],
                            "input": {},
                        },
                    },
                )
            )
            for part in _chunks(json.dumps(b["input"]), chunk):
                ev.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": i,
                            "delta": {"type": "input_json_delta", "partial_json": part},
                        },
                    )
                )
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    ev.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": msg["usage"]["output_tokens"]},
            },
        )
    )
    ev.append(("message_stop", {"type": "message_stop"}))
    return ev


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAnthropic  # set on the bound subclass
    protocol_version = "HTTP/1.1"
    server_version = "FakeAnthropic/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # ---- plumbing --------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _record(self, raw: bytes) -> RecordedRequest:
        split = urlsplit(self.path)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        kind = "other"
        if split.path.startswith("/v1/messages") and not split.path.startswith(
            "/v1/messages/count_tokens"
        ):
            kind = (
                "main" if isinstance(body, dict) and self.fake.is_main(body, split.path) else "side"
            )
        rec = RecordedRequest(
            index=-1,
            method=self.command,
            path=split.path,
            query=parse_qs(split.query),
            headers={k: v for k, v in self.headers.items() if k.lower() not in _REDACTED_HEADERS},
            body=body,
            size_bytes=len(raw),
            kind=kind,
        )
        self.fake._record(rec)
        return rec

    def _send(
        self,
        status: int,
        payload: bytes,
        ctype: str,
        extra: dict[str, str] | None = None,
        rec: RecordedRequest | None = None,
    ) -> None:
        if rec is not None:
            rec.status = status
        try:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", _rand_id("req_011", 21))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_json(
        self,
        status: int,
        obj: Any,
        extra: dict[str, str] | None = None,
        rec: RecordedRequest | None = None,
    ) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", extra, rec)

    # ---- verbs -----------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self._record(b"")
        self._send(200, b"", "text/plain")

    def do_GET(self) -> None:
        rec = self._record(b"")
        self._send_json(
            404,
            {
                "type": "error",
                "error": {"type": "not_found_error", "message": f"no route {rec.path}"},
            },
            rec=rec,
        )

    def do_DELETE(self) -> None:
        self.do_GET()

    def do_PUT(self) -> None:
        self._read_body()
        self.do_GET()

    def do_POST(self) -> None:
        raw = self._read_body()
        rec = self._record(raw)
        if rec.path.startswith("/v1/messages/count_tokens"):
            self._send_json(200, {"input_tokens": rec.approx_tokens}, rec=rec)
            return
        if not rec.path.startswith("/v1/messages"):
            self._send_json(
                404,
                {
                    "type": "error",
                    "error": {"type": "not_found_error", "message": f"no route {rec.path}"},
                },
                rec=rec,
            )
            return
        body = rec.json
        model = str(body.get("model") or "claude-fake")
        in_tok = rec.approx_tokens
        fake = self.fake
        if rec.kind != "main":
            msg = _message(
                model, [{"type": "text", "text": fake._side_text(rec)}], "end_turn", in_tok
            )
            self._answer(msg, bool(body.get("stream")), rec)
            return
        turn_idx, turn = fake._next_turn()
        rec.turn = turn_idx
        ctx = RequestContext(request=rec, turn=-1 if turn_idx is None else turn_idx, fake=fake)
        try:
            turn = fake._resolve(turn, ctx)
            while isinstance(turn, Slow):
                fake._stop.wait(turn.seconds)
                turn = fake._resolve(turn.then if turn.then is not None else Text("..."), ctx)
            if isinstance(turn, Fail):
                self._send_json(turn.status, turn.payload(), dict(turn.headers), rec)
                return
            blocks, stop = fake._blocks_of(turn, ctx)
        except Exception as e:  # a broken script: tell the CLI, keep the error for the test
            fake.errors.append(e)
            self._send_json(
                400,
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "message": "FakeAnthropic script error: "
                        + "".join(traceback.format_exception_only(e)).strip(),
                    },
                },
                {"x-should-retry": "false"},
                rec,
            )
            return
        self._answer(_message(model, blocks, stop, in_tok), bool(body.get("stream")), rec)

    def _answer(self, msg: dict[str, Any], stream: bool, rec: RecordedRequest) -> None:
        if not stream:
            self._send_json(200, msg, rec=rec)
            return
        data = b"".join(
            f"event: {name}\ndata: {json.dumps(ev)}\n\n".encode()
            for name, ev in _sse_events(msg, self.fake.chunk_size)
        )
        self._send(
            200, data, "text/event-stream; charset=utf-8", {"cache-control": "no-cache"}, rec
        )
