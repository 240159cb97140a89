"""GitHub Actions integration: step outputs and summaries, the workflow template, dispatch."""
