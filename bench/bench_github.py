"""GitHub requests per full ``invoke learn --issue N`` run, counted by the fake's request log.

    python -m bench.bench_github

The same setup as ``tests/test_github_scenarios.py``: ``FakeGitHub`` over loopback HTTP (PyGithub's
real code path), a plan issue whose workflow run has the session artifact, a clone of a local
bare git remote, the offline engine, and the task run as its own process. Two paths: the PR path
(``examples/fix-failing-test.jsonl``: docs are written, pushed, a draft PR opened) and the
no-changes path (``examples/nothing-to-learn.jsonl``: a comment, the branch deleted). API
requests and the artifact blob download (``/_blobs/...``, on the storage host on GitHub) are
counted separately.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.common import CACHE
from tests.fakes.github_api import FakeGitHub
from tests.support.github_world import TOKEN, World, add_plan
from tests.support.processes import make_invoke
from tests.support.repos import make_repo


def one_path(example: str, cache: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="github-", dir=cache) as tmp_name:
        tmp = Path(tmp_name)
        repo = make_repo(tmp)
        with FakeGitHub(tokens={TOKEN}) as gh:
            fake_repo, number = add_plan(gh, example=example)
            world = World(gh, fake_repo, repo, number, make_invoke(tmp, timeout=300))
            t0 = time.perf_counter()
            done = world.learn()
            wall = time.perf_counter() - t0
            if done.code != 0:
                raise RuntimeError(f"invoke learn failed ({example}): {done.text[-2000:]}")
            api = world.api_requests()
            blobs = [r.path.split("?")[0] for r in gh.requests if r.path.startswith("/_")]
            return {
                "example": example,
                "api_requests": len(api),
                "blob_downloads": len(blobs),
                "writes": len(gh.writes()),
                "requests": [f"{m} {p}" for m, p in api],
                "open_pulls": len(fake_repo.open_pulls()),
                "comments": len(world.issue.comments),
                "learn_status": world.header.get("learn_status"),
                "wall_s": wall,
            }


def run(cache: Path = CACHE) -> dict[str, Any]:
    data = {
        "pr_path": one_path("fix-failing-test.jsonl", cache),
        "no_changes_path": one_path("nothing-to-learn.jsonl", cache),
    }
    for name, res in data.items():
        print(
            f"  {name}: {res['api_requests']} API requests + {res['blob_downloads']} blob download "
            f"({res['learn_status']}, {res['wall_s']:.1f}s)"
        )
    return data


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    print(orjson.dumps(run(), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
