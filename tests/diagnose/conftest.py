"""Fixtures of the diagnose tests; the lab itself is in labkit.py (a unique module name, so it
does not clash with other test directories' conftest modules when the whole suite runs)."""
from __future__ import annotations

import pytest

from labkit import build_lab


@pytest.fixture
def routed_lab(tmp_path):
    lab = build_lab(tmp_path, "routed")
    yield lab
    lab.teardown()


@pytest.fixture
def nat_lab(tmp_path):
    lab = build_lab(tmp_path, "nat")
    yield lab
    lab.teardown()


@pytest.fixture
def routed_lab5(tmp_path):
    """The routed lab with Libreswan 5.x (the lab's Debian 13 root) on both gateways."""
    lab = build_lab(tmp_path, "routed", version="5")
    yield lab
    lab.teardown()
