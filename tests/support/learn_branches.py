"""Learn branches made by hand: a topic doc committed as the bot, as a learn run commits it."""

from __future__ import annotations

from learn import learned_docs as docs
from learn.gateways.git import Git, Identity
from tests.support.repos import Repo

BOT = Identity()


def topic_doc(tripwire: str, session: str, entry: str) -> docs.LearnedDoc:
    return docs.LearnedDoc(
        category="testing",
        slug="pytest",
        title="Running the tests",
        read_when=["running the tests"],
        body=f"# Running the tests\n\n- {entry}\n",
        tripwires=[docs.Tripwire(tripwire, "it fails; see the doc")],
        sessions=[session],
    )


def bot_commit(repo: Repo, branch: str, start: str, doc: docs.LearnedDoc, today: str) -> None:
    repo.git("switch", "--quiet", "-C", branch, start)
    docs.write_doc(repo.path / "docs/learned", doc, today=today)
    Git(repo.path).commit(repo.path, ["docs/learned"], f"Learn into {branch}", BOT)
