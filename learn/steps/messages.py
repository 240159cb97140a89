"""Everything learn-async writes for people on GitHub: PR text, issue comments, job summaries.

Kept in one place so the wording is easy to review and the redaction of outbound text has one
door to guard: every text built here passes ``learn.privacy.outbound.clean`` (``@guarded``).
"""

from __future__ import annotations

from collections.abc import Sequence

from learn.engines import DOCS_DIR
from learn.privacy.outbound import guarded

__all__ = [
    "commit_message",
    "marker",
    "no_session_comment",
    "nothing_to_learn_comment",
    "nothing_to_learn_summary",
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


@guarded
def commit_message(
    issue: int | None, title: str, sessions: Sequence[str], changed: int, engine: str
) -> str:
    subject = (
        f"Learn from plan #{issue}: {title}"
        if issue is not None
        else f"Learn from session {', '.join(sessions[:3])}"
    )
    return f"{subject[:72]}\n\n{changed} file(s) under {DOCS_DIR}/ written by the {engine or '?'} engine.\n"


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


@guarded
def pr_summary(issue: int, number: int, url: str, docs: Sequence[str]) -> str:
    return f"### learn-async: #{issue} → draft PR #{number}\n\n{url}\n\n" + "\n".join(
        f"- `{d}`" for d in docs
    )


@guarded
def skipped_summary(issue: int, status: str) -> str:
    return f"### learn-async: #{issue} skipped\n\nAlready learned (`learn_status: {status}`)."


@guarded
def nothing_to_learn_summary(issue: int) -> str:
    return f"### learn-async: #{issue} — nothing to learn\n\nCommented on the issue."
