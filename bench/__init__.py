"""Benchmarks: ``nox -s bench`` (``python -m bench.run`` from the repository root)."""
