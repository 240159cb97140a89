"""The part of the digest done ahead, in the background reader's process.

When a large transcript is read in a second process (:mod:`learn.transcripts.background`), the
digest's own work is the slower half. What that process can do with the messages alone is done
there, and what the digest never reads is not sent:

- the result of a file reader (Read, NotebookRead) becomes what the digest shows of it,
  ``[N lines read]``: its text, a third of a session's, is neither scanned nor sent (the file
  is in the repository; its content adds tokens, not knowledge);
- other tool results lose the session's cwd, as the digest would strip it (so the privacy
  triggers noted there hold for the text the digest scrubs): only where what is left holds
  the cwd no more, so that stripping it again there changes nothing;
- the fields the digest does not read (``uuid``, ``model``, the message id) are dropped;
- when the digest is behind (``spare``: the reader would otherwise wait for it), other tool
  results too become what the digest shows of them (:func:`learn.excerpts.result_excerpt`),
  so the two processes share the work as their speeds allow. They are made together before
  their batch is sent (:meth:`Ahead.finish`), once the reader has noted the privacy
  triggers of the whole batch in one pass.

The digest reads messages read in its own process by the same rules (:data:`FILE_READERS`,
:func:`lines_read`, :func:`reads_blocks`, the same ``result_excerpt``), so its output is the
same either way (tested byte for byte). Only the reader's types are imported at first: a
fresh interpreter starts no slower for this module.
"""

from __future__ import annotations

from typing import NamedTuple

from learn.privacy import triggers
from learn.transcripts.reader import Block, Message

__all__ = ["FILE_READERS", "Ahead", "Limits", "lines_read", "reads_blocks"]

FILE_READERS = frozenset({"Read", "NotebookRead"})


def reads_blocks(msg: Message) -> bool:
    """Whether the digest reads ``msg`` block by block (its calls, results and texts)."""
    return (
        msg.role != "summary"
        and msg.role != "system"
        and not msg.is_meta
        and not msg.is_compact_summary
    )


def strip_cwd(text: str, cwd: str) -> str:
    """Tool output names files by absolute path; the session's cwd adds nothing but length."""
    if len(cwd) > 1 and cwd in text:
        text = text.replace(cwd + "/", "").replace(cwd + "\\", "")
    return text


def lines_read(text: str, cwd: str) -> str:
    """What the digest shows of a file reader's result: its number of lines (counted as the
    cwd stripped would leave them: the same, unless the cwd has a line break)."""
    lines = (strip_cwd(text, cwd) if "\n" in cwd else text).count("\n") + 1
    return f"[{lines:,} lines read]"


class Limits(NamedTuple):
    """How much of a tool result the digest keeps (:class:`learn.excerpts.ResultLimits`)."""

    result_head: int
    result_tail: int
    result_error_lines: int


class Ahead:
    """Applied to each message, in order, before it is sent (see the module's docstring); then
    :meth:`finish`, before a batch of them is sent.

    It follows which tool each result answers as the digest does: a call is remembered when
    its message's blocks are read, and forgotten at its first result. ``limits`` and ``allow``:
    the digest's, for the results made here when there is time to spare (none without them)."""

    def __init__(self, limits: Limits | None = None, allow: tuple[str, ...] = ()) -> None:
        self.names: dict[str, str] = {}  # tool_use id -> tool name
        self.limits, self.allow = limits, allow
        self.pending: list[Block] = []  # results to make by finish() (without the cwd)

    def __call__(self, msg: Message, spare: bool = False) -> None:
        msg.uuid = msg.model = msg.msg_id = ""
        if not reads_blocks(msg):
            return
        for block in msg.blocks:
            kind = block.kind
            if kind == "tool_use":
                self.names[block.tool_id] = block.name
            elif kind == "tool_result":
                name = self.names.pop(block.tool_id, "?")
                if name in FILE_READERS and not block.is_error:
                    block.excerpt = lines_read(block.text, msg.cwd)
                    block.text = ""
                    continue
                stripped = strip_cwd(block.text, msg.cwd)
                if spare and self.limits is not None:
                    block.text = stripped
                    self.pending.append(block)
                elif stripped is not block.text and msg.cwd not in stripped:
                    block.text = stripped

    def finish(self) -> None:
        """Make what the digest shows of the results kept since the last call, with their
        privacy triggers: noted by then (``Block.fired``: the reader notes a whole batch's in
        one pass), else worked out here."""
        if not self.pending:
            return
        # Imported when first needed: by then this process has time to spare, and a fresh
        # interpreter starts sooner without it (a fork has it already).
        from learn.excerpts import result_excerpt

        limits = self.limits
        assert limits is not None
        for block in self.pending:
            text, fired = block.text, block.fired
            if fired < 0:
                fired = triggers.fired(text.encode("utf-8", "surrogatepass")) if text else 0
            block.excerpt, block.errors = result_excerpt(
                text, limits, want_errors=block.is_error, allow=self.allow, fired=fired
            )
            block.text = ""
            block.fired = -1  # the digest scrubs none of it
        self.pending = []
