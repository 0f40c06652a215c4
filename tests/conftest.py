"""Shared test setup: puts ``tests/`` on ``sys.path`` (``import strategies``) and starts the slow files first."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files holding a ``slow`` test first, each file's tests kept together and in order.

    ``make test`` hands out whole files (``pytest-xdist --dist loadfile``) in collection order;
    the longest files last would leave one worker busy while the other idles at the end.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: the rest keeps its order
