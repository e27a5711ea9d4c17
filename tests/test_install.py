"""The project installs as a package: a NON-editable ``pip install`` of the checkout into a fresh
virtual environment gives a working ``cityradar demo`` run from another directory, with the
shipped configuration found as package data (no CITYRADAR_CONFIG, no checkout on the path).

The fresh environment gets the project's dependencies from the environment running the tests
(a ``.pth`` line naming its site-packages; that environment's own ``.pth`` files, such as an
editable install of this checkout, are not run), so the test works offline; the project itself
is built from a copy of the working tree and installed with ``--no-deps --no-build-isolation``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

# what a clean checkout does not have (build output, local stores, caches)
NOT_IN_A_CHECKOUT = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
    ".ruff_cache", "artifacts", "*.db", "*.db-wal", "*.db-shm", "_config", ".cityradar",
    "node_modules")


def _clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items()
            if key != "PYTHONPATH" and not key.startswith("CITYRADAR_")}


def _run(command: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_a_non_editable_install_runs_the_demo_from_another_directory(tmp_path: Path) -> None:
    source = tmp_path / "checkout"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_IN_A_CHECKOUT)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    shared = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site) / "_test_dependencies.pth").write_text("\n".join(shared) + "\n")

    built = _run([str(python), "-m", "pip", "install", "-v", "--no-deps",
                  "--no-build-isolation", str(source)], tmp_path, 600)
    # the SPDX licence expression: no deprecation warning from the build backend
    assert "project.license` as a TOML table is deprecated" not in built.stdout + built.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([str(python), "-c",
                  "import pathlib, cityradar, nlp, ui;"
                  "print(cityradar.__file__, nlp.__file__, ui.__file__,"
                  "      pathlib.Path(cityradar.__file__).parent / '_config')"],
                 elsewhere, 60).stdout.split()
    for path in where:  # the installed copy, not the checkout (nor the one it was built from)
        assert Path(path).is_relative_to(Path(site)), where
    config = Path(where[-1])  # the shipped config/ as package data (setup.py)
    assert (config / "cities.yaml").is_file() and (config / "demo").is_dir()
    assert (config / "lexicons").is_dir()
    assert not (elsewhere / "config").exists()  # nothing to find but the package data

    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}

    assert files(config) == files(source / "config")  # all of it: lexicons, demo templates

    demo = _run([str(venv / "bin" / "cityradar"), "demo", "--no-ui", "--scale", "400",
                 "--workers", "1", "--db", "demo.db"], elsewhere, 900)
    lines = demo.stdout.splitlines()
    assert lines[0].split() == ["city", "kind", "group", "start", "peak", "end", "observed",
                                "expected", "severity"]
    rows = [line.split()[:3] for line in lines[1:]]
    assert ["wuhan", "volume_surge", "all"] in rows, demo.stdout
    assert ["beijing", "volume_surge", "all"] in rows, demo.stdout
    assert (elsewhere / "demo.db").is_file()
