"""The three steps the workflow chains, as plain functions over the gateways.

``checkout_branch`` → ``run_learn`` → ``publish`` (and ``mark_failed``, the workflow's last
resort). Each runs in its own process (like CI) and hands over through
:class:`~learn.steps.state.RunState`; each can be run again after a failure and continues.

Two modes: a plan issue on GitHub (``--issue N``: sessions come from the plan's artifacts, the
result is a draft PR or a comment, the plan's ``learn_status`` follows along) and local
(``--session PATH`` only: the result is a commit on ``learn-local-<id>``).
"""

from learn.steps.checkout import checkout_branch
from learn.steps.context import Deps, Selection, Target, github_factory
from learn.steps.failure import failure_guard, mark_failed, record_failure
from learn.steps.publish import publish
from learn.steps.refresh import refresh
from learn.steps.run_learn import run_learn, validate_worktree

__all__ = [
    "Deps",
    "Selection",
    "Target",
    "checkout_branch",
    "failure_guard",
    "github_factory",
    "mark_failed",
    "publish",
    "record_failure",
    "refresh",
    "run_learn",
    "validate_worktree",
]
