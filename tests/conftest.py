"""Shared test fixtures: paths to the repo's config and to ../shared/realdata."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
REALDATA = REPO_ROOT.parent / "shared" / "realdata"


@pytest.fixture
def realdata() -> Path:
    """The real public data set beside the checkout; skips when a user's clone lacks it."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data not present at {REALDATA} (it lives beside the project)")
    return REALDATA


@pytest.fixture
def config_dir() -> Path:
    return CONFIG_DIR
