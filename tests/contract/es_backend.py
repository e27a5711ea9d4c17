"""The Elasticsearch side of the Store contract suite, run on the osmem-server emulator.

``osmem-server`` (PyPI, bundled static binary) is an in-memory OpenSearch-compatible server
that answers as Elasticsearch. One is started lazily per test process on a free 127.0.0.1
port and shared; each store gets its own index prefix. Set CITYRADAR_TEST_ES_URL to run the
suite against a real cluster too: the contract suite's "elasticsearch-real" backend (skipped
without it; credentials from the CITYRADAR_ES_* variables).
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.es_store import ElasticsearchStore
from search.store import Store

REAL_CLUSTER_ENV = "CITYRADAR_TEST_ES_URL"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """An osmem-server process on a fixed 127.0.0.1 port that can be stopped and restarted."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 30.0) -> Emulator:
        osmem_server = pytest.importorskip("osmem_server", reason="osmem-server not installed")
        binary = osmem_server.resolve_binary()
        self.process = subprocess.Popen(
            [binary, "--addr", f"127.0.0.1:{self.port}", "--parent-pid", str(os.getpid()),
             "--no-ja"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        ready: list[dict] = []

        def read_ready_line() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and "url" in message:
                    ready.append(message)
                    return

        reader = threading.Thread(target=read_ready_line, daemon=True)
        reader.start()
        reader.join(timeout)
        if not ready:
            self.stop()
            raise RuntimeError(f"osmem-server did not start on port {self.port}")
        return self

    def wait_until_answering(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()
        if self.process.stdin:
            self.process.stdin.close()
        self.process = None


_shared: Emulator | None = None
_shared_lock = threading.Lock()


def shared_emulator() -> Emulator:
    """The process-wide emulator, started on first use and stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.process is None or _shared.process.poll() is not None:
            _shared = Emulator().start()
            atexit.register(_shared.stop)
        return _shared


def real_cluster_url() -> str | None:
    """The real cluster the tests may use (CITYRADAR_TEST_ES_URL), if any."""
    return os.environ.get(REAL_CLUSTER_ENV) or None


def open_es_store(spool_dir: Path, real: bool | None = None,
                  **options: object) -> ElasticsearchStore:
    """A store with a fresh index prefix.

    ``real=True``: the cluster at CITYRADAR_TEST_ES_URL (the test is skipped when unset);
    ``real=False``: the emulator; ``None``: the real cluster if configured, else the emulator.
    """
    prefix = f"t{uuid.uuid4().hex[:12]}"
    url = real_cluster_url()
    if real and not url:
        pytest.skip(f"needs a real Elasticsearch 8 cluster: set {REAL_CLUSTER_ENV}")
    if url and real is not False:
        return ElasticsearchStore(url, index_prefix=prefix, spool_dir=spool_dir, **options)
    emulator = shared_emulator()
    return ElasticsearchStore(emulator.url, index_prefix=prefix, spool_dir=spool_dir,
                              plain_json=True, **options)


def es_store(tmp_path: Path, real: bool | None = None) -> Iterator[Store]:
    store = open_es_store(tmp_path / "es-spool", real=real)
    try:
        yield store
    finally:
        try:
            store.drop_indices()
        finally:
            store.close()
