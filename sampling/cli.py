"""Subcommands owned by the sampling package (placeholder until implemented)."""

from __future__ import annotations


def register(sub) -> None:  # noqa: D401 - filled in by the sampling work
    return None
