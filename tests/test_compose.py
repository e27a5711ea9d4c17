"""The production stack definition: docker compose accepts it and it wires what operators need."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"


def compose_plugin_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    return probe.returncode == 0


def test_docker_compose_config_validates(tmp_path) -> None:
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    if not compose_plugin_available():
        pytest.skip("the docker compose plugin is not installed (`docker compose version` fails)")
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_EXAMPLE.read_text())
    checked = subprocess.run(
        ["docker", "compose", "--env-file", str(env_file), "-f", str(COMPOSE), "config", "-q"],
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
    assert ui["ports"][0].endswith(":8501") and "8501" in ui["command"]
    for service in (es, worker, ui):
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"]
    for service in (worker, ui):
        assert service["depends_on"]["es01"]["condition"] == "service_healthy"
        env = service["environment"]
        assert env["CITYRADAR_ES_CA_CERTS"] == "/certs/ca/ca.crt"
        assert env["CITYRADAR_ES_USER"] == "elastic"
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
