"""The evidence pack: candidate lessons as compact text for a model's prompt.

Most confident first, every field cut, the whole pack cut at a fixed size, so the prompt stays
bounded whatever the session's size. It is plain text (no transcript JSON) built from digest
events, which are already redacted.
"""

from __future__ import annotations

from learn.lessons.candidates import Candidate
from learn.lessons.topics import topic_of
from learn.lessons.writer import code, cut

__all__ = ["MIN_CONFIDENCE", "PACK_CHARS", "evidence_pack"]

PACK_CHARS = 12_000  # about 3,000 tokens
MIN_CONFIDENCE = 0.3


def _block(number: int, c: Candidate) -> str:
    topic = topic_of(c)
    head = (
        f"[{number}] {c.kind} · {c.where} · confidence {c.confidence:.2f} · "
        f"suggested doc {topic.category}/{topic.slug} · digest event {c.n}"
    )
    lines = [head]
    if c.command:
        label = "check" if c.kind == "verification" else "failed"
        lines.append(
            f"  {label}: {code(c.command, 200)}" + (f" (\u00d7{c.count})" if c.count > 1 else "")
        )
    if c.error:
        lines.append(f"  error: {code(c.error, 240)}")
    if c.said:
        lines.append(f"  user said: “{cut(c.said, 300)}”")
    if c.fix:
        lines.append(f"  what worked: {code(c.fix, 200)}")
    lines += [f"  changed: {cut(change, 200)}" for change in c.changes[:3]]
    if c.files and not c.changes:
        lines.append(f"  files: {cut(', '.join(c.files[:6]), 200)}")
    lines += [f"  ran: {code(command, 160)}" for command in c.commands[:2]]
    if c.check and c.kind != "verification":
        lines.append(f"  checked with: {code(c.check, 160)}")
    if c.outcome:
        lines.append(f"  outcome: {cut(c.outcome, 160)}")
    if c.note:
        lines.append(f"  assistant: {cut(c.note, 200)}")
    return "\n".join(lines)


def evidence_pack(candidates: list[Candidate], limit: int = PACK_CHARS) -> str:
    """The candidates worth a look, most confident first, at most ``limit`` characters."""
    ranked = sorted(
        (c for c in candidates if c.confidence >= MIN_CONFIDENCE),
        key=lambda c: (-c.confidence, c.n),
    )
    if not ranked:
        return "(no candidate lesson was found: there is probably nothing worth keeping)"
    blocks: list[str] = []
    size = 0
    for number, c in enumerate(ranked, start=1):
        block = _block(number, c)
        if size + len(block) + 2 > limit:
            blocks.append(f"(… {len(ranked) - number + 1} less likely candidate(s) left out)")
            break
        blocks.append(block)
        size += len(block) + 2
    return "\n\n".join(blocks)
