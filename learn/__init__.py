"""learn-async: turn Claude Code session transcripts into reviewed docs under docs/learned/."""

__version__ = "0.1.0"
