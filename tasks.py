"""Invoke tasks of this repository: the learn-async task collection lives in ``learn.collection``.

``invoke --list`` shows them; ``nox -s learn -- <task> ...`` runs them in an isolated venv.
"""

from learn.collection import ns

__all__ = ["ns"]
