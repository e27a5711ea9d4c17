"""Loading the shipped YAML configuration with one-line, field-naming errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration file is missing or invalid; the message names the file and field."""


def load_yaml(path: Path) -> Any:
    """Parse a YAML file, turning I/O and syntax errors into a one-line ConfigError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where} invalid YAML: {problem}") from exc


def require(mapping: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``mapping[key]`` checked for presence and type; ``where`` names the place for errors."""
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    if key not in mapping or mapping[key] is None:
        raise ConfigError(f"{where}.{key}: missing")
    value = mapping[key]
    if not isinstance(value, kind):
        kinds = (kind,) if isinstance(kind, type) else kind
        expected = " or ".join(k.__name__ for k in kinds)
        raise ConfigError(f"{where}.{key}: expected {expected}, got {type(value).__name__}")
    return value
