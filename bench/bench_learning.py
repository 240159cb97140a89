"""Learning quality on the labelled development corpus (`../shared/corpus`, beside the repo).

Runs the offline learn (digest → lesson extraction → topic docs → index) for every session in
`corpus/sessions/`, each into its own empty docs tree, and scores the trees with the corpus's own
`score.py`: recall by kind, doc characters per session (index included) and noise. The corpus
holds personal transcripts and is never copied into the repository; without it the section is
skipped.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT
from learn.digest import build_digest
from learn.engines import EngineJob
from learn.engines.offline import OfflineEngine
from learn.learned_docs import regenerate_index
from learn.transcripts.files import discover

CORPUS = ROOT.parent / "shared" / "corpus"
TARGETS = {"recall": 95.0, "per_kind": 90.0, "chars": 4_000, "noise": 0}
_KIND = re.compile(r"^(error_fixed|user_correction|verification)\s+(\d+)/(\d+)", re.M)
_TOTAL = re.compile(r"^total recall\s+(\d+)/(\d+)", re.M)
_CHARS = re.compile(r"^avg doc chars\s+(\d+)", re.M)
_NOISE = re.compile(r"^noise\s+(\d+)", re.M)


def learn_all(corpus: Path, out: Path) -> dict[str, float]:
    """Learn every session into ``out/<stem>/``; seconds per session."""
    seconds: dict[str, float] = {}
    for session in sorted((corpus / "sessions").glob("*.jsonl")):
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            result = build_digest(discover([session]), work / "digest")
            tree = out / session.stem / "docs" / "learned"
            tree.parent.mkdir(parents=True)
            job = EngineJob(
                work / "digest", out / session.stem, work, result.sessions, None, "", "2026-01-01"
            )
            OfflineEngine().run(job)
            if tree.is_dir():
                regenerate_index(tree)
        seconds[session.stem] = time.perf_counter() - start
    return seconds


def score(corpus: Path, results: Path) -> dict[str, Any]:
    text = subprocess.run(
        [sys.executable, str(corpus / "score.py"), str(corpus / "labels"), str(results)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    kinds = {m[1]: (int(m[2]), int(m[3])) for m in _KIND.finditer(text)}
    total = _TOTAL.search(text)
    chars, noise = _CHARS.search(text), _NOISE.search(text)
    if not (total and chars and noise and kinds):
        raise RuntimeError(f"unexpected score.py output:\n{text[-800:]}")
    return {
        "by_kind": {k: {"captured": c, "total": t} for k, (c, t) in kinds.items()},
        "captured": int(total[1]),
        "total": int(total[2]),
        "recall": 100 * int(total[1]) / int(total[2]),
        "avg_doc_chars": int(chars[1]),
        "noise": int(noise[1]),
    }


def run(corpus: Path = CORPUS) -> dict[str, Any]:
    if not (corpus / "score.py").is_file() or not (corpus / "sessions").is_dir():
        print(f"  skipped: no labelled corpus at {corpus}")
        return {"skipped": f"no corpus at {corpus}"}
    with tempfile.TemporaryDirectory() as tmp:
        seconds = learn_all(corpus, Path(tmp))
        out = score(corpus, Path(tmp))
    out["sessions"] = len(seconds)
    out["seconds_total"] = sum(seconds.values())
    out["seconds_max"] = max(seconds.values(), default=0.0)
    kinds = ", ".join(f"{k} {v['captured']}/{v['total']}" for k, v in out["by_kind"].items())
    print(
        f"  recall {out['captured']}/{out['total']} ({out['recall']:.1f}%): {kinds}; "
        f"{out['avg_doc_chars']:,} doc chars/session; noise {out['noise']}; "
        f"{out['seconds_total']:.1f}s for {out['sessions']} sessions"
    )
    return out


if __name__ == "__main__":
    run()
