"""The files of the shipped models (nlp/data/*.npz): compressed numpy arrays plus a JSON block,
``info``, with the settings they were built with and what their trainer measured."""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import numpy as np

from cityradar.config import ConfigError

Model = TypeVar("Model")


def write_model_file(path: Path, info: Mapping[str, object],
                     arrays: Mapping[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        np.savez_compressed(
            handle, info=np.frombuffer(json.dumps(info, sort_keys=True).encode(), dtype=np.uint8),
            **arrays)


def read_model_file(path: Path, what: str, trainer: str,
                    build: Callable[[dict, Mapping[str, np.ndarray]], Model]) -> Model:
    """``build(info, arrays)`` over the file; a file that cannot be read or built is one
    ConfigError line that names the trainer that rebuilds it."""
    try:
        with np.load(path) as data:
            return build(json.loads(bytes(data["info"]).decode()), data)
    except ConfigError:
        raise
    except (OSError, EOFError, KeyError, TypeError, ValueError, zipfile.BadZipFile,
            zlib.error) as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc}); rebuild it with "
                          f"{trainer}") from exc


def require_settings(path: Path, same: bool, trainer: str) -> None:
    """A file built with other settings than this code's (feature sizes, context slots)."""
    if not same:
        raise ConfigError(f"{path}: built with other settings than this version's; rebuild it "
                          f"with {trainer}")
