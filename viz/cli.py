"""Subcommands owned by the viz package (placeholder until implemented)."""

from __future__ import annotations


def register(sub) -> None:  # noqa: D401 - filled in by the viz work
    return None
