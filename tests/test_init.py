"""`learn-async init`: the caller workflow pinned by SHA; re-runs keep options, never go back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from learn.ci import source, workflow
from learn.ci.source import Pin
from learn.errors import UsageError
from tests.support.repos import git

OLD = "1" * 40
NEW = "2" * 40


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "learn.cli", "init", *args], capture_output=True, text=True
    )


@pytest.fixture
def adopter(tmp_path: Path) -> Path:
    repo = tmp_path / "adopter"
    git(tmp_path, "init", "--quiet", str(repo))
    return repo


def written(repo: Path) -> str:
    return (repo / ".github/workflows/learn-async.yml").read_text()


def test_init_writes_a_pinned_caller_and_says_so(adopter: Path) -> None:
    done = cli("--repo", str(adopter), "--source", "acme/learn-async", "--ref", OLD)
    assert done.returncode == 0, done.stderr
    text = written(adopter)
    assert f"uses: acme/learn-async/.github/actions/learn-async@{OLD} # v" in text
    assert "pull_request:" not in text
    assert "wrote .github/workflows/learn-async.yml" in done.stdout
    assert "added .learn/ to .gitignore" in done.stdout
    again = cli("--repo", str(adopter), "--source", "acme/learn-async", "--ref", OLD)
    assert again.returncode == 0 and "already up to date" in again.stdout


def test_a_rerun_keeps_on_land_and_reports_the_new_pin(adopter: Path) -> None:
    assert (
        cli("--repo", str(adopter), "--on-land", "--source", "acme/x", "--ref", OLD).returncode == 0
    )
    assert "pull_request:" in written(adopter)
    done = cli("--repo", str(adopter), "--source", "acme/x", "--ref", NEW)  # no --on-land
    assert done.returncode == 0, done.stderr
    assert "pull_request:" in written(adopter) and NEW in written(adopter)
    assert f"pin acme/x@{OLD[:12]}" in done.stdout and "kept the on-land trigger" in done.stdout


def test_never_pins_an_older_version(adopter: Path) -> None:
    newer = Pin("acme/x", OLD, "9.0.0")
    (adopter / workflow.WORKFLOW_PATH).parent.mkdir(parents=True)
    (adopter / workflow.WORKFLOW_PATH).write_text(workflow.render_adopter(newer, on_land=False))
    with pytest.raises(UsageError, match=r"pins learn-async v9\.0\.0 .* an older one"):
        workflow.init(adopter, Pin("acme/x", NEW, "0.1.0"))
    assert workflow.init(adopter, Pin("acme/x", NEW, "0.1.0"), force=True)


def test_same_version_older_commit_is_refused_when_the_history_says_so(
    adopter: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "learn-async"
    git(tmp_path, "init", "--quiet", str(clone))
    git(clone, "commit", "--quiet", "--allow-empty", "-m", "one")
    first = git(clone, "rev-parse", "HEAD").strip()
    git(clone, "commit", "--quiet", "--allow-empty", "-m", "two")
    second = git(clone, "rev-parse", "HEAD").strip()
    workflow.init(adopter, Pin("acme/x", second, "0.1.0", checkout=clone))
    with pytest.raises(UsageError, match="an older one"):
        workflow.init(adopter, Pin("acme/x", first, "0.1.0", checkout=clone))


def test_replaces_the_old_pip_installed_workflow(adopter: Path) -> None:
    old = adopter / workflow.WORKFLOW_PATH
    old.parent.mkdir(parents=True)
    old.write_text(
        "# Written by learn-async 0.1.0 (learn-async init); re-run it to update.\n"
        "on:\n  pull_request:\n    types: [closed]\n"
        "jobs: {learn: {steps: [{run: \"python -m pip install 'learn-async==0.1.0'\"}]}}\n"
    )
    lock = adopter / ".github/learn-async"
    lock.mkdir()
    (lock / "package.json").write_text('{"name": "learn-async-claude-code"}\n')
    changes = workflow.init(adopter, Pin("acme/x", NEW, "0.1.0"))
    assert any("replaced the pip-installed learn-async 0.1.0" in c for c in changes)
    assert any("removed .github/learn-async/" in c for c in changes)
    assert not lock.exists() and "pull_request:" in old.read_text()


def test_refuses_a_workflow_it_did_not_write(adopter: Path) -> None:
    (adopter / ".github/workflows").mkdir(parents=True)
    (adopter / ".github/workflows/learn-async.yml").write_text("name: mine\n")
    done = cli("--repo", str(adopter), "--source", "acme/x", "--ref", OLD)
    assert done.returncode == 2 and "was not written by learn-async init" in done.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("--source", "acme/x", "--ref", "v1.0.0"), "full 40-hex commit SHA"),
        (("--source", "not a repo", "--ref", OLD), "OWNER/REPO"),
    ],
)
def test_bad_pins_are_usage_errors(adopter: Path, args: tuple[str, ...], message: str) -> None:
    done = cli("--repo", str(adopter), *args)
    assert done.returncode == 2 and message in done.stderr


def test_pin_comes_from_the_checkout_it_runs_from(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "init", "--quiet", str(clone))
    (clone / source.ACTION_PATH).mkdir(parents=True)
    (clone / source.ACTION_PATH / "action.yml").write_text("name: x\n")
    git(clone, "add", ".")
    git(clone, "commit", "--quiet", "-m", "x")
    git(clone, "remote", "add", "origin", "git@github.com:acme/learn-async.git")
    pin = source._from_checkout(clone)
    assert pin is not None and pin.repo == "acme/learn-async"
    assert pin.sha == git(clone, "rev-parse", "HEAD").strip() and pin.checkout == clone
    assert pin.found_in.endswith("push that commit to GitHub before the workflow runs")


def test_pin_comes_from_pep_610_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    record = {
        "url": "https://github.com/acme/learn-async.git",
        "vcs_info": {"vcs": "git", "commit_id": NEW, "requested_revision": "v0.1.0"},
    }

    class Dist:
        def read_text(self, name: str) -> str:
            assert name == "direct_url.json"
            return json.dumps(record)

    monkeypatch.setattr(source.metadata, "distribution", lambda name: Dist())
    pin = source.resolve()
    assert (pin.repo, pin.sha) == ("acme/learn-async", NEW)
    assert pin.found_in == "installed from https://github.com/acme/learn-async.git"
    assert source.resolve(ref=OLD).sha == OLD  # an explicit ref wins
