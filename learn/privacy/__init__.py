"""Secrets and personal data: found and redacted before any text leaves the machine."""
