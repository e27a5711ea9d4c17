"""Where optional NLP models live, and fetching them once for offline use.

A model is named like a Hugging Face repository ("cardiffnlp/twitter-xlm-roberta-base-sentiment")
or given as a local directory holding ``config.json`` and the weights. Fetched models go to
``CITYRADAR_MODELS_DIR`` (default ``~/.cache/cityradar/models``), one folder per model, and
are only used once the fetch has finished (a marker file is written last), so an interrupted
download never loads as a broken model. Loading never touches the network: the tagger must run
on machines without internet access; ``cityradar models fetch`` is the one step that downloads.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from cityradar.config import ConfigError

log = logging.getLogger(__name__)

DEFAULT_SENTIMENT_MODEL = "cardiffnlp/twitter-xlm-roberta-base-sentiment"
MODELS_DIR_ENV = "CITYRADAR_MODELS_DIR"
COMPLETE_MARKER = ".cityradar-fetch.json"
# Weights in formats this project never loads (TensorFlow, Flax, ONNX, ...): not downloaded.
_IGNORED_FILES = ["*.h5", "*.msgpack", "*.onnx", "onnx/*", "*.ot", "*.tflite", "*.gguf",
                  "tf_model*", "flax_model*", "rust_model*", "coreml/*", "openvino/*"]


class ModelNotFoundError(ConfigError):
    """The configured model is neither a local directory nor fetched into the models dir."""


class ModelFetchError(RuntimeError):
    """Downloading a model failed (offline, unknown name, network); the message is one line."""


def models_dir() -> Path:
    """Where fetched models are kept: $CITYRADAR_MODELS_DIR or ~/.cache/cityradar/models."""
    configured = os.environ.get(MODELS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "cityradar" / "models"


def _folder_name(name: str) -> str:
    return name.strip().strip("/").replace("/", "--")


def _looks_like_path(name: str) -> bool:
    # Hub names are "name" or "owner/name"; anything else is meant as a directory.
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def fetched_path(name: str, directory: Path | None = None) -> Path:
    """The folder a fetched copy of ``name`` lives in (whether or not it is there yet)."""
    return (directory or models_dir()) / _folder_name(name)


def resolve_model(name_or_path: str, directory: Path | None = None) -> Path:
    """The local directory of a model, or a one-line ModelNotFoundError saying what to do."""
    name = str(name_or_path).strip()
    if not name:
        raise ModelNotFoundError("sentiment.model: empty; give a model name or a local path")
    local = Path(name).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ModelNotFoundError(f"model directory {local} has no config.json")
        return local
    if _looks_like_path(name):
        raise ModelNotFoundError(f"model path {local} not found")
    fetched = fetched_path(name, directory)
    if (fetched / COMPLETE_MARKER).is_file():
        return fetched
    where = directory or models_dir()
    raise ModelNotFoundError(
        f"model {name!r} not found locally (in {where}); run `cityradar models fetch` with "
        "internet access"
    )


def _offline() -> bool:
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    if any(flag.strip().lower() in {"1", "true", "yes", "on"} for flag in flags):
        return True
    try:
        from huggingface_hub import constants
    except ImportError:
        return False
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def fetch_model(name: str, directory: Path | None = None, revision: str | None = None) -> Path:
    """Download ``name`` from the Hugging Face hub once; returns its local directory.

    A local directory is returned as is; an already fetched model is not downloaded again.
    """
    name = str(name).strip()
    local = Path(name).expanduser()
    if local.is_dir():
        return resolve_model(name, directory)
    target = fetched_path(name, directory)
    if (target / COMPLETE_MARKER).is_file():
        log.info("model %s already fetched in %s", name, target)
        return target
    # Checked here, not left to huggingface_hub: its offline flag is read once at import time,
    # and an offline run must never reach for the network.
    if _offline():
        raise ModelFetchError(
            f"cannot fetch model {name!r}: offline mode is on (HF_HUB_OFFLINE or "
            "TRANSFORMERS_OFFLINE); unset it on a machine with internet access"
        )
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, HFValidationError, OfflineModeIsEnabled
    except ImportError as exc:
        raise ModelFetchError(
            "fetching models needs huggingface_hub: pip install 'cityradar[transformers]'"
        ) from exc
    target.mkdir(parents=True, exist_ok=True)
    try:
        snapshot_download(repo_id=name, revision=revision, local_dir=target,
                          ignore_patterns=_IGNORED_FILES)
    except (HfHubHTTPError, HFValidationError, OfflineModeIsEnabled, OSError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ModelFetchError(f"cannot fetch model {name!r}: {reason[:300]}") from exc
    if not (target / "config.json").is_file():
        raise ModelFetchError(f"model {name!r} has no config.json: not a transformers model")
    fetched_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    marker = {"model": name, "revision": revision, "fetched_at": fetched_at}
    (target / COMPLETE_MARKER).write_text(json.dumps(marker), encoding="utf-8")
    return target
