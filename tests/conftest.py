"""Every test gets a time limit (pytest-timeout), so a search that loops forever fails CI
instead of hanging it: generous, as CI may share its two cores with another job."""

from __future__ import annotations

import pytest

FAST_LIMIT_S = 300  # the unmarked tests take seconds
SLOW_LIMIT_S = 1800  # training runs: minutes on 2 idle cores


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            slow = item.get_closest_marker("slow") is not None
            item.add_marker(pytest.mark.timeout(SLOW_LIMIT_S if slow else FAST_LIMIT_S))
