"""Build step only (the project is described in pyproject.toml): a non-editable install
(``pip install .``, a wheel) carries the shipped ``config/`` directory inside the package as
``cityradar/_config``, where ``cityradar.config.default_config_dir`` finds it without
``CITYRADAR_CONFIG``. A checkout or an editable install reads ``config/`` in place."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONFIG = Path(__file__).resolve().parent / "config"


class BuildWithConfig(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads config/ in place
            return
        target = Path(self.build_lib) / "cityradar" / "_config"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(CONFIG, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithConfig})
