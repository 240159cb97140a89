"""Everything learn-async writes for people on GitHub: PR text, issue comments, job summaries.

Kept in one place so the wording is easy to review and the redaction of outbound text has one
door to guard: every text built here passes ``learn.privacy.outbound.clean`` (``@guarded``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from learn.engines import DOCS_DIR
from learn.privacy.outbound import guarded

__all__ = [
    "commit_message",
    "engine_line",
    "failed_summary",
    "listing",
    "marker",
    "no_plan_summary",
    "no_session_comment",
    "nothing_new_for_open_pr",
    "nothing_to_learn_comment",
    "nothing_to_learn_summary",
    "plans_pr_body",
    "plans_pr_title",
    "plans_summary",
    "pr_body",
    "pr_summary",
    "pr_title",
    "skipped_summary",
]


def marker(key: str, run_id: str) -> str:
    """The hidden marker that makes a comment or PR body findable (and a retried write safe)."""
    return f"<!-- learn-async:{key}:{run_id} -->"


@guarded
def no_session_comment(issue: int, run_id: str, why: str) -> str:
    return (
        f"{marker(str(issue), run_id)}\n"
        f"**learn-async** could not learn from this plan: {why}.\n\n"
        "The session transcript is uploaded as a workflow artifact `session-<session id>` by the "
        "implementation run, and the plan header names it (`last_remote_impl_run_id`, "
        "`last_remote_impl_session_id`). Re-run the implementation to upload it, or learn locally "
        "with `learn-async learn --issue N --session PATH`."
    )


@guarded
def nothing_to_learn_comment(key: str, run_id: str, run_link: str) -> str:
    body = (
        f"{marker(key, run_id)}\n**learn-async** read the implementation session(s) of this plan and "
        "found nothing new worth documenting (no error that needed a fix, no correction)."
    )
    return body + (f"\n\nWorkflow run: {run_link}" if run_link else "")


def listing(names: Sequence[str], shown: int = 10) -> str:
    """``a, b, c`` — or the first ``shown`` and "… and N more"; nothing is dropped silently."""
    head = ", ".join(names[:shown])
    return head + (f" … and {len(names) - shown} more" if len(names) > shown else "")


SUBJECT_MAX = 72  # git's convention for a subject line


@guarded
def nothing_new_for_open_pr(key: str, run_id: str, pr: int) -> str:
    return (
        f"{marker(key, run_id)}\n**learn-async** learned from this plan's session(s) again and found "
        f"nothing new worth documenting; the open learn PR #{pr} is left as it was."
    )


@guarded
def commit_message(
    issue: int | None, title: str, sessions: Sequence[str], changed: int, engine: str
) -> str:
    """Subject and body; a subject too long is cut at a word and its full text kept in the body."""
    if issue is not None:
        full = f"Learn from plan #{issue}: {title}"
    else:
        more = f" and {len(sessions) - 1} more" if len(sessions) > 1 else ""
        full = f"Learn from session {sessions[0] if sessions else '?'}{more}"
    subject, body = full, ""
    if len(full) > SUBJECT_MAX:
        subject = full[: SUBJECT_MAX - 1].rsplit(" ", 1)[0].rstrip(" :,") + "…"
        body = f"{full}\n\n"
    if issue is None and len(sessions) > 1:
        body += "Sessions:\n" + "".join(f"- {name}\n" for name in sessions) + "\n"
    return (
        f"{subject}\n\n{body}{changed} file(s) under {DOCS_DIR}/ written by the "
        f"{engine or '?'} engine.\n"
    )


def engine_line(engine: str, usage: Mapping[str, object] | None) -> str:
    """ "claude: 4 turns, 12,345 input / 678 output tokens, $0.0123" (offline: no model)."""
    if not engine:
        return ""
    if engine != "claude" or not usage:
        return f"{engine} (no model called)" if engine == "offline" else engine
    return (
        f"{engine}: {usage.get('turns', 0)} turn(s), {usage.get('input_tokens', 0):,} input / "
        f"{usage.get('output_tokens', 0):,} output tokens, ${float(str(usage.get('cost_usd', 0))):.4f}"
    )


@guarded
def pr_title(issue: int, title: str) -> str:
    return f"Learned docs from plan #{issue}: {title}"[:120]


@guarded
def pr_body(
    issue: int, engine: str, docs: Sequence[str], run_link: str, key: str, run_id: str
) -> str:
    return (
        f"Docs learned from the implementation session(s) of plan #{issue}.\n\n"
        f"- plan: #{issue}\n"
        + (f"- workflow run: {run_link}\n" if run_link else "")
        + f"- engine: {engine}\n- files: {', '.join(f'`{d}`' for d in docs) or 'see the diff'}\n\n"
        "Review, edit and merge, or close if nothing here is worth keeping.\n\n"
        f"{marker(key, run_id)}\n"
    )


def _summary(heading: str, rows: Sequence[tuple[str, str]]) -> str:
    table = "".join(f"| {name} | {value} |\n" for name, value in rows if value)
    return f"### learn-async: {heading}\n\n| | |\n|---|---|\n{table}"


@guarded
def pr_summary(
    issue: int,
    number: int,
    url: str,
    docs: Sequence[str],
    *,
    operation: str = "created",
    engine: str = "",
    usage: Mapping[str, object] | None = None,
) -> str:
    return _summary(
        f"plan #{issue} → draft PR #{number}",
        [
            ("outcome", f"{operation} draft PR [#{number}]({url})"),
            ("docs written", "<br>".join(f"`{d}`" for d in docs) or "see the PR"),
            ("engine", engine_line(engine, usage)),
        ],
    )


@guarded
def skipped_summary(issue: int, status: str) -> str:
    return _summary(
        f"plan #{issue} skipped",
        [("outcome", f"already learned (`learn_status: {status}`); nothing done")],
    )


@guarded
def nothing_to_learn_summary(
    issue: int, engine: str = "", usage: Mapping[str, object] | None = None
) -> str:
    return _summary(
        f"plan #{issue}: nothing to learn",
        [
            ("outcome", "nothing new worth documenting; commented on the plan"),
            ("docs written", "none"),
            ("engine", engine_line(engine, usage)),
        ],
    )


@guarded
def failed_summary(key: str, reason: str) -> str:
    return _summary(f"{key} failed", [("outcome", f"failed: {reason}")])


@guarded
def no_plan_summary(why: str) -> str:
    return _summary("no plan to learn", [("outcome", f"skipped: {why}")])


def _plans(numbers: Sequence[int]) -> str:
    return ", ".join(f"#{n}" for n in numbers)


@guarded
def plans_pr_title(numbers: Sequence[int]) -> str:
    return f"Learned docs from plans {_plans(numbers)}"[:120]


@guarded
def plans_pr_body(
    plans: Sequence[Mapping[str, Any]], engine: str, run_link: str, key: str, run_id: str
) -> str:
    """The consolidated PR: what each plan taught, and which plans gave nothing or failed."""
    lines = ["Docs learned from the implementation sessions of several plans, one commit each.", ""]
    for entry in plans:
        number, status = entry["number"], entry["status"]
        if status == "learned":
            files = ", ".join(f"`{d}`" for d in entry["docs"])
            lines.append(f"- plan #{number}: {files}")
        elif status == "nothing":
            lines.append(f"- plan #{number}: nothing new worth documenting")
        elif status == "failed":
            lines.append(f"- plan #{number}: not learned — {entry['error']}")
    lines += ["", f"- engine: {engine}"] + ([f"- workflow run: {run_link}"] if run_link else [])
    lines += ["", "Review, edit and merge, or close if nothing here is worth keeping.", ""]
    return "\n".join(lines) + f"\n{marker(key, run_id)}\n"


@guarded
def plans_summary(plans: Sequence[Mapping[str, Any]], number: int | None, url: str) -> str:
    head = f"### learn-async: {len(plans)} plan(s)"
    head += f" → draft PR #{number}\n\n{url}" if number else ""
    rows = [
        f"- #{e['number']}: {e['status']}" + (f" — {e['error']}" if e.get("error") else "")
        for e in plans
    ]
    return head + "\n\n" + "\n".join(rows)
