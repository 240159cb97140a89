"""The offline engine: deterministic topic docs from the lesson candidates, no network, no model.

It runs the lesson extraction (:mod:`learn.lessons`) over the digest's events and writes what is
worth keeping into topic docs (``docs/learned/<category>/<slug>.md``), merged into the docs that
already exist. A session with nothing worth keeping writes nothing.
"""

from __future__ import annotations

from collections import Counter

from learn.digest import load_events
from learn.engines import EngineJob, EngineResult
from learn.lessons import writer
from learn.lessons.candidates import extract

__all__ = ["OfflineEngine"]


class OfflineEngine:
    name = "offline"

    def run(self, job: EngineJob) -> EngineResult:
        candidates = extract(load_events(job.digest_dir))
        chosen = writer.plan(candidates)
        if chosen.empty:
            return EngineResult(
                self.name, [], "offline: nothing to learn (no lesson worth keeping)"
            )
        results = writer.write(
            chosen, job.docs_root, sessions=list(job.sessions), issue=job.issue, today=job.today
        )
        written = [f"docs/learned/{rel}" for rel, outcome in results if outcome != "unchanged"]
        kinds = Counter(c.kind for c in candidates)
        kept = sum(len(lessons) for lessons in chosen.lessons.values())
        return EngineResult(
            self.name,
            written,
            f"offline: {len(candidates)} candidate(s) ({kinds['error_fixed']} error, "
            f"{kinds['user_correction']} correction, {kinds['verification']} check), {kept} kept "
            f"→ {', '.join(rel for rel, _ in results)}",
        )
