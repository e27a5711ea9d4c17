"""Start the Streamlit UI as a subprocess (on 127.0.0.1 by default) and wait until it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import webbrowser
from pathlib import Path

import httpx

APP = Path(__file__).resolve().parent / "app.py"
REPO_ROOT = APP.parents[1]
HOST = "127.0.0.1"
_ALL_INTERFACES = ("0.0.0.0", "::", "")


class LaunchError(RuntimeError):
    """The UI server did not come up; the message carries its stderr."""

    def __init__(self, reason: str, stderr: str) -> None:
        super().__init__(f"{reason}: {stderr}")
        self.reason = reason
        self.stderr = stderr

    @property
    def one_line(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return f"{self.reason}: {lines[-1].strip()}" if lines else self.reason


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def launch(
    store_url: str,
    config_dir: Path,
    port: int | None = None,
    open_browser: bool = False,
    timeout: float = 60.0,
    host: str = HOST,
) -> tuple[subprocess.Popen, str]:
    """Run ``streamlit run ui/app.py`` against ``store_url``; return the process and its URL.

    Raises LaunchError (with the server's stderr) if it exits or does not answer its health
    endpoint within ``timeout`` seconds; the process is stopped in that case. ``host`` is the
    listening address (``0.0.0.0`` in a container); the returned URL is then the loopback one.
    """
    port = port or free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",  # no "Deploy" button or developer menu for analysts
    ]
    env = {**os.environ, "CITYRADAR_STORE": store_url,
           "CITYRADAR_CONFIG": str(Path(config_dir).resolve())}
    # stderr goes to a file, not a pipe: a chatty server must never block on a full pipe.
    stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=stderr_file)
    process.stderr_file = stderr_file  # type: ignore[attr-defined]
    reachable = HOST if host in _ALL_INTERFACES else host
    url = f"http://{reachable}:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise LaunchError(f"the UI server exited with code {process.returncode}",
                              _stderr_tail(stderr_file))
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop(process)
            raise LaunchError(f"the UI server did not answer on {url} within {timeout:.0f} s",
                              _stderr_tail(stderr_file))
        time.sleep(0.2)
    if open_browser:
        webbrowser.open(url)
    return process, url


def stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Terminate the server, killing it if it does not stop within ``grace`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stderr_tail(stderr_file, limit: int = 2000) -> str:
    stderr_file.seek(0)
    text = stderr_file.read().decode("utf-8", "replace").strip()
    return text[-limit:] or "(no stderr output)"
