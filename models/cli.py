"""Subcommands owned by the models package (placeholder until implemented)."""

from __future__ import annotations


def register(sub) -> None:  # noqa: D401 - filled in by the models work
    return None
