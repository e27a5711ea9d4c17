"""The production stack definition: docker compose accepts it and it wires what operators need."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys

import httpx
import pytest
import yaml

from tests.conftest import REPO_ROOT
from ui.launch import free_port

COMPOSE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"


def compose_command() -> list[str] | None:
    """``docker compose`` (the plugin) or the standalone ``docker-compose`` binary, if either."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for command in candidates:
        probe = subprocess.run([*command, "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return command
    return None


def test_docker_compose_config_validates(tmp_path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("neither the docker compose plugin nor a docker-compose binary works "
                    "(`docker compose version` / `docker-compose version` fail)")
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_EXAMPLE.read_text())
    checked = subprocess.run(
        [*command, "--env-file", str(env_file), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True, text=True, timeout=60,
    )
    assert checked.returncode == 0, checked.stderr


def test_stack_runs_secured_elasticsearch_worker_and_ui() -> None:
    stack = yaml.safe_load(COMPOSE.read_text())
    services = stack["services"]
    assert {"setup", "es01", "worker", "ui"} <= set(services)

    es = services["es01"]
    assert es["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:")
    assert "8." in ENV_EXAMPLE.read_text().split("STACK_VERSION=")[1].splitlines()[0]
    assert es["environment"]["xpack.security.enabled"] == "true"
    assert es["environment"]["xpack.security.http.ssl.enabled"] == "true"
    assert "ELASTIC_PASSWORD" in es["environment"]["ELASTIC_PASSWORD"]  # from .env, not inline
    assert es["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert "esdata:/usr/share/elasticsearch/data" in es["volumes"]

    worker, ui = services["worker"], services["ui"]
    assert worker["command"][:4] == ["cityradar", "--store", "https://es01:9200", "watch"]
    assert ui["command"] == ["cityradar", "--store", "https://es01:9200", "ui",
                             "--host", "0.0.0.0", "--port", "8501"]
    assert ui["ports"][0].endswith(":8501")
    for service in (es, worker, ui):
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"]
    for service in (worker, ui):
        assert service["depends_on"]["es01"]["condition"] == "service_healthy"
        env = service["environment"]
        assert env["CITYRADAR_ES_CA_CERTS"] == "/certs/ca/ca.crt"
        # issue 14: was `== "elastic"` (the superuser); now each has its own least-privilege user
        assert env["CITYRADAR_ES_USER"] in ("cityradar_worker", "cityradar_ui")
        assert "spool:/spool" in service["volumes"]
    assert {"certs", "esdata", "spool"} <= set(stack["volumes"])


def test_env_example_names_every_variable_the_stack_reads() -> None:
    import re

    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    documented = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines()
                  if line and not line.startswith("#")}
    assert used - {"CITYRADAR_VERSION"} <= documented


def test_dockerfile_builds_the_app_with_the_elasticsearch_extra() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.11-slim" in dockerfile
    assert 'pip install ".[elasticsearch]"' in dockerfile


def listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses (hex, as the kernel writes them) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, port_hex = local.rsplit(":", 1)
                if state == "0A" and int(port_hex, 16) == port:
                    found.add(address)
    return found


def test_cli_ui_serves_on_every_interface_with_host_and_stops_on_sigterm(tmp_path) -> None:
    """What the compose ui service runs: `cityradar ui --host 0.0.0.0 --port N`."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cityradar.cli", "--db", str(tmp_path / "ui.db"), "ui",
         "--host", "0.0.0.0", "--port", str(port)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert f"CityRadar UI: http://127.0.0.1:{port}" in banner, server.stderr.read()
        assert httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=10).text == "ok"
        addresses = listening_addresses(port)
        assert addresses and addresses <= {"00000000", "00000000000000000000000000000000"}
        server.send_signal(signal.SIGTERM)  # `docker stop`
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)


# -- issue 14: least privilege, a login in front of the UI, no committed secrets ---------------

APP_SERVICES = ("worker", "ui")  # services running CityRadar code
SUPERUSER_SERVICES = {"setup", "es01", "es-users"}  # may know ELASTIC_PASSWORD


def resolved_stack(tmp_path) -> dict:
    """The stack as `docker-compose config` resolves it (anchors merged, .env substituted)."""
    command = compose_command()
    if command is None:
        pytest.skip("no working docker compose / docker-compose")
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_EXAMPLE.read_text().replace("change-me", "Xq7-real"))
    (tmp_path / "users.yaml").write_text("users: {}\n")
    done = subprocess.run([*command, "--env-file", str(env_file), "-f", str(COMPOSE),
                           "--project-directory", str(tmp_path), "config"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def publishes(service: dict, container_port: int) -> list[str]:
    found = []
    for port in service.get("ports", []):
        text = str(port) if not isinstance(port, dict) else f"{port.get('published')}:" \
            f"{port.get('target')}"
        if text.split(":")[-1].split("/")[0] == str(container_port):
            found.append(text)
    return found


def test_no_service_publishes_the_ui_without_the_login_in_front(tmp_path) -> None:
    stack = resolved_stack(tmp_path)
    runs_ui = [name for name, service in stack["services"].items()
               if publishes(service, 8501) or " ui" in " ".join(map(str, service.get(
                   "command") or []))]
    assert runs_ui == ["ui"]
    for name in runs_ui:
        env = stack["services"][name]["environment"]
        assert env.get("CITYRADAR_REQUIRE_LOGIN") == "1"
        assert env.get("CITYRADAR_AUTH_FILE")
        mounts = " ".join(map(str, stack["services"][name].get("volumes", [])))
        assert env["CITYRADAR_AUTH_FILE"] in mounts  # the users file is there, read-only
    # published on loopback by default: exposing it is a deliberate UI_BIND
    assert all(p.startswith("127.0.0.1:") for p in publishes(stack["services"]["ui"], 8501))


def test_no_app_service_holds_the_superuser_password(tmp_path) -> None:
    stack = resolved_stack(tmp_path)
    superuser_password = stack["services"]["es01"]["environment"]["ELASTIC_PASSWORD"]
    for name, service in stack["services"].items():
        text = yaml.safe_dump(service)
        if name in SUPERUSER_SERVICES:
            continue
        assert superuser_password not in text, name
        assert service.get("environment", {}).get("CITYRADAR_ES_USER") != "elastic", name
    users = {stack["services"][n]["environment"]["CITYRADAR_ES_USER"] for n in APP_SERVICES}
    assert users == {"cityradar_worker", "cityradar_ui"}
    setup = yaml.safe_dump(stack["services"]["es-users"]["command"])
    assert "/_security/role/cityradar_ui" in setup and "/_security/user/cityradar_ui" in setup
    assert stack["services"]["worker"]["depends_on"]["es-users"]["condition"] == \
        "service_completed_successfully"


def test_env_and_users_files_are_git_ignored(tmp_path) -> None:
    for name in (".env", "users.yaml"):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=REPO_ROOT)
        assert ignored.returncode == 0, f"{name} is not git-ignored"


def test_placeholder_password_is_refused_at_start(tmp_path) -> None:
    placeholder = ENV_EXAMPLE.read_text().split("ELASTIC_PASSWORD=")[1].splitlines()[0]
    env = {**os.environ, "CITYRADAR_ES_PASSWORD": placeholder, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "cityradar.cli", "--store",
                           "https://127.0.0.1:9", "alerts", "list"], capture_output=True,
                          text=True, timeout=60, env=env, cwd=REPO_ROOT)
    assert done.returncode == 1
    assert "placeholder from .env.example" in done.stderr and "Traceback" not in done.stderr
    setup = yaml.safe_load(COMPOSE.read_text())["services"]["setup"]["command"]
    assert "change-me*" in setup and "refusing to start" in setup  # the stack stops there too
