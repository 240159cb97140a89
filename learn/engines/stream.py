"""Parsing Claude Code's ``--output-format stream-json`` output as it arrives.

Lines: ``system/init`` (model, tools), ``assistant`` (text, tool_use), ``user`` (tool results),
``system`` retries, and a final ``result`` (``is_error``, ``num_turns``, ``total_cost_usd``,
``usage``, ``permission_denials``, ``result``). Anything else is counted and ignored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["Denial", "StreamState"]


@dataclass(slots=True)
class Denial:
    tool: str
    target: str  # the file path or command that was refused


@dataclass(slots=True)
class StreamState:
    model: str = ""
    tools_offered: list[str] = field(default_factory=list)
    turns: int = 0  # assistant messages seen
    tools_used: Counter[str] = field(default_factory=Counter)
    tool_errors: int = 0
    retries: int = 0
    output_tokens: int = 0
    last_text: str = ""
    malformed: int = 0
    result: dict[str, Any] | None = None
    _message_ids: set[str] = field(default_factory=set)

    # -- the final result line --------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.result is not None

    @property
    def is_error(self) -> bool:
        return bool(self.result and self.result.get("is_error"))

    @property
    def num_turns(self) -> int:
        value = (self.result or {}).get("num_turns")
        return int(value) if isinstance(value, int) else self.turns

    @property
    def cost_usd(self) -> float:
        value = (self.result or {}).get("total_cost_usd")
        return float(value) if isinstance(value, int | float) else 0.0

    @property
    def usage(self) -> dict[str, Any]:
        value = (self.result or {}).get("usage")
        return value if isinstance(value, dict) else {}

    @property
    def message(self) -> str:
        value = (self.result or {}).get("result")
        return str(value) if value is not None else self.last_text

    @property
    def denials(self) -> list[Denial]:
        found = []
        for item in (self.result or {}).get("permission_denials") or []:
            if not isinstance(item, dict):
                continue
            tool_input = _dict(item.get("tool_input"))
            target = (
                tool_input.get("file_path") or tool_input.get("command") or tool_input.get("path")
            )
            found.append(Denial(str(item.get("tool_name") or "?"), str(target or "")))
        return found

    def progress(self) -> str:
        used = ", ".join(f"{name}:{n}" for name, n in sorted(self.tools_used.items()))
        return (
            f"turn {self.turns}, tools: {used or 'none yet'}, {self.output_tokens:,} output tokens"
        )

    # -- feeding ----------------------------------------------------------------------------
    def feed(self, line: str | bytes) -> dict[str, Any] | None:
        """Take one line of output; return the parsed event (None for blank or malformed)."""
        if not line.strip():
            return None
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            self.malformed += 1
            return None
        if not isinstance(event, dict):
            self.malformed += 1
            return None
        kind = event.get("type")
        if kind == "system":
            self._system(event)
        elif kind == "assistant":
            self._assistant(event)
        elif kind == "user":
            self._user(event)
        elif kind == "result":
            self.result = event
        return event

    def _system(self, event: dict[str, Any]) -> None:
        if event.get("subtype") == "init":
            self.model = str(event.get("model") or "")
            tools = event.get("tools")
            self.tools_offered = [str(t) for t in tools] if isinstance(tools, list) else []
        elif "retry" in str(event.get("subtype") or ""):
            self.retries += 1

    def _assistant(self, event: dict[str, Any]) -> None:
        message = _dict(event.get("message"))
        msg_id = str(message.get("id") or "")
        if msg_id not in self._message_ids:
            self._message_ids.add(msg_id)
            self.turns += 1
        usage = _dict(message.get("usage"))
        if isinstance(usage.get("output_tokens"), int):
            self.output_tokens += usage["output_tokens"]
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                self.tools_used[str(block.get("name") or "?")] += 1
            elif block.get("type") == "text" and isinstance(block.get("text"), str):
                self.last_text = block["text"]

    def _user(self, event: dict[str, Any]) -> None:
        content = _dict(event.get("message")).get("content")
        for block in content if isinstance(content, list) else []:
            if (
                isinstance(block, dict)
                and block.get("type") == "tool_result"
                and block.get("is_error")
            ):
                self.tool_errors += 1


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
