"""Stage 1: transcripts in — finding session files (and subagents), reading them as a stream,
and extracting downloaded session artifacts safely."""
