"""Lesson extraction: from digest events to candidate lessons, topics and learned docs.

``candidates`` walks the events once and keeps what a future agent should know (errors and
their fixes, the user's corrections, the checks that verified the work), ``topics`` files each
candidate under a category and slug, ``writer`` turns them into short topic docs merged into the
existing ones, and ``pack`` renders them as a bounded evidence pack for a model.
"""
