"""GitHub Actions expressions (``${{ }}``), evaluated by GitHub's own ``@actions/expressions``.

The package (pinned in ``actions_expressions/package-lock.json``) is npm-installed on first use
into ``$LEARN_TEST_CACHE/actions-expressions/`` (default ``.nox/.cache/actions-expressions/``),
and one long-lived ``node actions_expressions/server.mjs`` process per test process evaluates
every expression (one JSON line each way, ~0.1 ms). Without node/npm the calling test is skipped
with the reason - or fails when ``CI`` is set, so CI never loses this coverage silently.

What the package does not know, the server adds: ``success()``/``failure()``/``cancelled()``/
``always()`` for ``if:`` (``status``; an ``if:`` without one means ``success() && (...)``),
:class:`Strict` contexts whose missing keys are an error (a typo in a test, not ``null``), and a
case-sensitive ``env`` (:class:`CaseSensitive`, as on Linux runners). ``hashFiles`` is unknown.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from filelock import FileLock

__all__ = [
    "CaseSensitive",
    "Evaluator",
    "ExpressionError",
    "Result",
    "Strict",
    "evaluate",
    "install",
    "split_template",
    "to_str",
    "truthy",
]

PACKAGE_DIR = Path(__file__).with_name("actions_expressions")
_STRICT = "\0strict"
_CASE_SENSITIVE = "\0case-sensitive"


class ExpressionError(Exception):
    """The expression is invalid, or its evaluation failed (the evaluator's own message)."""


class Strict(dict[str, Any]):
    """A context whose missing keys are a test bug, not ``null`` (e.g. ``inputs.typo``)."""

    def __init__(self, data: Mapping[str, Any], what: str, hint: str = "") -> None:
        super().__init__(data)
        self.what = what
        self.hint = hint


class CaseSensitive(dict[str, Any]):
    """The ``env`` context: case-sensitive on Linux runners."""


@dataclass(frozen=True)
class Result:
    """``value`` as Python (numbers are floats), ``text`` as GitHub coerces it to a string
    (``None`` for arrays and objects), and whether it is truthy."""

    value: Any
    text: str | None
    truthy: bool


def _wire(v: Any) -> Any:
    if isinstance(v, Mapping):
        out = {str(k): _wire(x) for k, x in v.items()}
        if isinstance(v, Strict):
            out[_STRICT] = [v.what, v.hint]
        elif isinstance(v, CaseSensitive):
            out[_CASE_SENSITIVE] = True
        return out
    if isinstance(v, list | tuple):
        return [_wire(x) for x in v]
    return v


class Evaluator:
    """One ``node server.mjs`` process; :meth:`evaluate` is thread-safe."""

    def __init__(self, node: str, dist: Path) -> None:
        self._proc = subprocess.Popen(
            [node, str(PACKAGE_DIR / "server.mjs"), str(dist)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self._lock = threading.Lock()

    def evaluate(
        self,
        expr: str,
        contexts: Mapping[str, Any],
        *,
        status: str | None = None,
        condition: bool = False,
    ) -> Result:
        """``expr`` (without ``${{ }}``) against ``contexts``. ``status`` is the job status
        seen by the status functions (``None``: they are not allowed); ``condition`` makes it
        an ``if:``."""
        request = {"expr": expr, "contexts": _wire(contexts), "status": status}
        line = json.dumps({**request, "condition": condition}, allow_nan=False) + "\n"
        stdin, stdout = self._pipes()
        with self._lock:
            try:
                stdin.write(line)
                stdin.flush()
                answer = stdout.readline()
            except OSError:
                answer = ""
        if not answer:
            raise ExpressionError(f"the expression evaluator died: {self._stderr()}")
        out = json.loads(answer, parse_int=float)
        if "error" in out:
            raise ExpressionError(out["error"])
        value = float(out["value"]) if out["kind"] == "number" else out["value"]
        return Result(value, out["text"], out["truthy"])

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        return self._proc.stdin, self._proc.stdout

    def _stderr(self) -> str:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
            assert self._proc.stderr is not None
            return self._proc.stderr.read().strip()[-800:] or f"rc={self._proc.returncode}"
        return "no answer"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            stdin, _ = self._pipes()
            stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


# --------------------------------------------------------------------------------------------
# Installing the package, once per cache
# --------------------------------------------------------------------------------------------


def _pinned_version() -> str:
    lock = json.loads((PACKAGE_DIR / "package-lock.json").read_text())
    return str(lock["packages"]["node_modules/@actions/expressions"]["version"])


def default_cache_dir() -> Path:
    """``$LEARN_TEST_CACHE/actions-expressions`` or ``<repo>/.nox/.cache/actions-expressions``."""
    env = os.environ.get("LEARN_TEST_CACHE")
    base = Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / ".nox/.cache"
    return base / "actions-expressions"


def install(cache_dir: Path | None = None, timeout: float = 300) -> tuple[Path | None, str]:
    """(the installed package's ``dist`` folder, "") or (``None``, why not): ``npm ci`` of
    the pinned lockfile into ``cache_dir/<version>`` unless it is already there."""
    version = _pinned_version()
    prefix = (cache_dir or default_cache_dir()) / version
    dist = prefix / "node_modules" / "@actions" / "expressions" / "dist"
    try:
        prefix.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return None, f"cannot create {prefix}: {e}"
    with FileLock(prefix.parent / ".install.lock"):
        if (dist / "index.js").exists():
            return dist, ""
        npm = shutil.which("npm")
        if npm is None:
            return None, "npm is not on PATH"
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(PACKAGE_DIR / name, prefix / name)
        cmd = [npm, "ci", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error"]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=prefix)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, f"{' '.join(cmd)} failed: {e}"
        if out.returncode != 0 or not (dist / "index.js").exists():
            tail = (out.stderr or out.stdout).strip()[-800:]
            return None, f"npm ci failed (rc={out.returncode}): {tail}"
        return dist, ""


_shared: list[Evaluator] = []
_shared_lock = threading.Lock()


def _evaluator() -> Evaluator:
    with _shared_lock:
        if not _shared:
            node = shutil.which("node")
            dist, why = install() if node else (None, "node is not on PATH")
            if node is None or dist is None:
                reason = f"GitHub's expression evaluator (@actions/expressions) unavailable: {why}"
                if os.environ.get("CI"):
                    pytest.fail(f"{reason} (CI is set, so this is not skipped)")
                pytest.skip(reason)
            _shared.append(Evaluator(node, dist))
            atexit.register(_shared[0].close)
        return _shared[0]


def evaluate(
    expr: str, contexts: Mapping[str, Any], *, status: str | None = None, condition: bool = False
) -> Result:
    """:meth:`Evaluator.evaluate` on this process's shared evaluator (started on first use;
    the calling test is skipped without node/npm, or fails when ``CI`` is set)."""
    return _evaluator().evaluate(expr, contexts, status=status, condition=condition)


# --------------------------------------------------------------------------------------------
# Templates and plain values
# --------------------------------------------------------------------------------------------


def split_template(text: str) -> list[str | tuple[str]]:
    """Literal text and ``(expression source,)`` parts of a string with ``${{ }}``."""
    parts: list[str | tuple[str]] = []
    pos = 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            if pos < len(text):
                parts.append(text[pos:])
            return parts
        if start > pos:
            parts.append(text[pos:start])
        i = start + 3
        quoted = False
        while i < len(text):
            if text[i] == "'":
                quoted = not quoted
            elif not quoted and text.startswith("}}", i):
                break
            i += 1
        else:
            raise ExpressionError(f"unclosed ${{{{ in {text!r}")
        parts.append((text[start + 3 : i],))
        pos = i + 2


def to_str(v: Any) -> str:
    """A plain value (YAML scalar, context entry) as GitHub turns it into a string."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        x = float(v)
        if math.isnan(x) or math.isinf(x):
            return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
        return str(int(x)) if x == int(x) and abs(x) < 1e15 else repr(x)
    if isinstance(v, str):
        return v
    kind = "array" if isinstance(v, list) else "object"
    raise ExpressionError(f"cannot turn an {kind} into a string (use toJSON())")


def truthy(v: Any) -> bool:
    """A plain value's truth as GitHub sees it (``''``, ``0``, ``NaN``, ``null``, ``false``)."""
    if isinstance(v, float) and math.isnan(v):
        return False
    return v not in (None, False, 0, "")
