"""Sessions for developing and running learn-async.

``nox -s demo`` runs the main job on a bundled example; ``nox -s test`` runs the tests;
``nox -s learn -- <task> ...`` runs the tasks in an isolated venv (the CI action runs the same
tasks through the ``learn-async`` console script);
``nox -s bench`` runs the benchmarks (not part of the default sessions).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "test"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = "3.11"


def install_project(session: nox.Session, *groups: str) -> None:
    """Install the project (editable, so a reused venv always runs the current code) + groups."""
    deps = [dep for group in groups for dep in nox.project.dependency_groups(PYPROJECT, group)]
    session.install("-e", ".", *deps)


@nox.session(python=PYTHON)
def test(session: nox.Session) -> None:
    """Run the test suite (pytest); extra arguments go to pytest."""
    install_project(session, "test")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Lint, check formatting and type-check."""
    install_project(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    # This repository (its workflows and the composite action), then fresh adopter copies as
    # `learn-async init` writes them, with and without the on-land trigger.
    session.run("zizmor", "--offline", ".")
    session.run("actionlint", *sorted(str(p) for p in Path(".github/workflows").glob("*.yml")))
    for variant in ("dispatch", "on-land"):
        adopter = Path(session.create_tmp()) / f"adopter-{variant}"
        folder = adopter / ".github" / "workflows"
        folder.mkdir(parents=True, exist_ok=True)
        written = folder / "learn-async.yml"
        session.run("python", "-m", "learn.ci.workflow", "adopter", str(written), variant)
        session.run("zizmor", "--offline", str(adopter))
        session.run("actionlint", str(written))


@nox.session(python=PYTHON, default=False)
def workflow(session: nox.Session) -> None:
    """Re-render .github/workflows/learn-async.yml from learn/templates/learn-async.yml."""
    install_project(session)
    session.run("python", "-m", "learn.ci.workflow", "self", ".github/workflows/learn-async.yml")


@nox.session(python=PYTHON)
def learn(session: nox.Session) -> None:
    """Run the tasks in an isolated venv: ``nox -s learn -- learn --session PATH``.

    The CI action runs the same tasks (``learn-async <task>``), so a local run and a CI run are
    the same code.
    """
    install_project(session)
    session.run("invoke", *(session.posargs or ["--list"]))


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job on a bundled example: learn from examples/ into a throwaway clone."""
    install_project(session)
    session.run("python", "-m", "learn.demo", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks: digest speed, memory, reduction/retention, GitHub requests, CI start-up, tokens.

    Prints a table and writes bench/results.json; inputs are generated into .nox/.cache/bench/.
    Extra arguments go to bench/run.py (``nox -s bench -- --help``). See bench/README.md.
    """
    install_project(session, "bench")
    # The start-up benchmark runs ``nox -R -s learn`` with the nox that runs this session.
    session.run(
        "python", "-m", "bench.run", *session.posargs, env={"BENCH_NOX_PYTHON": sys.executable}
    )
