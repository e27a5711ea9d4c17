"""The ``store`` fixture: every contract test runs against each Store backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from search.sqlite_store import SQLiteStore
from search.store import Store


@pytest.fixture(params=["sqlite", "elasticsearch", "elasticsearch-real"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        sqlite_store = SQLiteStore(tmp_path / "store.db")
        try:
            yield sqlite_store
        finally:
            sqlite_store.close()
        return
    es_backend = pytest.importorskip(
        "tests.contract.es_backend",
        reason="Elasticsearch contract backend (tests/contract/es_backend.py) not available",
    )
    # "elasticsearch": the emulator; "elasticsearch-real": CITYRADAR_TEST_ES_URL, else skipped.
    yield from es_backend.es_store(tmp_path, real=request.param == "elasticsearch-real")
