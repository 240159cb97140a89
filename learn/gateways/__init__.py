"""One gateway per external system — git, GitHub, the Claude Code CLI — each with the Protocol the
steps rely on beside its real class (in-memory fakes live in ``tests/fakes/``)."""
