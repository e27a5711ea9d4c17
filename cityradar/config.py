"""Configuration *files*: where they are, how they are read and how they are validated.

Three names, three jobs:

- ``config/`` (the directory): the shipped YAML files (sources, outlets, cities, topics, nlp,
  alerts, gdelt, cicii, reports, demo/, lexicons/). :func:`default_config_dir` is the one place
  that says where it is.
- ``cityradar/config.py`` (this module): reading those files: :func:`load_yaml`, the schema
  base class :class:`ConfigModel` (pydantic v2, unknown keys forbidden, no silent coercion) and
  :func:`validate`, which turns a pydantic ``ValidationError`` into the one error users see,
  :class:`ConfigError`, on one line naming the file and the field path
  (``config/sources.yaml: feeds[3].url: expected an http(s) URL, got 'ftp://x'``).
  Each file's schema lives next to the code that uses it (``ingest/sources.py`` holds
  ``SourcesFile``, ``alerts/detectors.py`` holds ``AlertsFile``, ...); nlp.yaml's, read by five
  stages, is ``nlp/config_schema.py``, the demo corpus's ``ingest/demo_schema.py``.
- ``cityradar/settings.py``: the runtime settings of one command (which config directory,
  which store), from options and environment; it reads no file itself.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WrapValidator,
    create_model,
)

CONFIG_ENV = "CITYRADAR_CONFIG"
# A checkout: the package sits beside config/. An installed (non-editable) package carries the
# shipped files as package data in cityradar/_config (the wheel build copies config/ there).
CHECKOUT_CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
PACKAGED_CONFIG_DIR = Path(__file__).resolve().parent / "_config"


def default_config_dir() -> Path:
    """The configuration directory when no ``--config`` is given; the one definition.

    ``CITYRADAR_CONFIG`` when set; else the copy a non-editable install carries as package data
    (``cityradar/_config``, present only there); else the checkout's ``config/`` (a git clone or
    an editable install).
    """
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    if PACKAGED_CONFIG_DIR.is_dir():
        return PACKAGED_CONFIG_DIR
    return CHECKOUT_CONFIG_DIR


# libyaml's safe loader when PyYAML was built with it (about 10x faster on nlp.yaml; the same
# documents for every shipped file), else the pure-Python one.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigError(ValueError):
    """A configuration file is missing or invalid; the message names the file and field."""


def load_yaml(path: Path) -> Any:
    """Parse a YAML file, turning I/O and syntax errors into a one-line ConfigError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where} invalid YAML: {problem}") from exc


class ConfigModel(BaseModel):
    """Base of every config-file schema: an unknown key is an error (a typo is never silently
    ignored) and values are not coerced (``enabled: "yes"`` is an error, not True)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


M = TypeVar("M", bound=BaseModel)


def validate(schema: type[M], data: Any, source: str | Path, at: str = "") -> M:
    """``data`` (parsed YAML) validated against ``schema``; errors are one-line ConfigErrors.

    ``source`` names the file (or ``file: section``), ``at`` a field path prefix when ``data`` is
    one section of the file.
    """
    try:
        return schema.model_validate({} if data is None else data)
    except ValidationError as exc:
        raise config_error(exc, source, at) from None


def config_error(exc: ValidationError, source: str | Path, at: str = "") -> ConfigError:
    """The one translation of a pydantic ``ValidationError`` into a one-line ConfigError:
    ``<source>: <field path>: <reason>`` for its first error (the count of others appended)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    path = _field_path(at, first["loc"])
    reason = _reason(first)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    # ``source`` may already name a section ("nlp.yaml: language"): the field path continues it.
    sep = "." if ": " in str(source) else ": "
    where = f"{source}{sep}{path}" if path else f"{source}"
    return ConfigError(" ".join(f"{where}: {reason}{more}".split()))


def _field_path(at: str, loc: tuple[int | str, ...]) -> str:
    path = at
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _kind(value: Any) -> str:
    return type(value).__name__


_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="),
           "less_than": ("lt", "<"), "less_than_equal": ("le", "<=")}


def _reason(error: Any) -> str:
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "missing" or (value is None and kind.endswith("_type")):
        return "missing"
    if kind == "extra_forbidden":
        return "unknown setting"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "literal_error":
        options = str(ctx.get("expected", "")).replace(" or ", ", ").replace("'", "").split(", ")
        expected = " or ".join(options) if len(options) == 2 else f"one of {', '.join(options)}"
        return f"expected {expected}, got {value!r}"
    if kind in _BOUNDS:
        key, sign = _BOUNDS[kind]
        return f"must be {sign} {ctx.get(key)}, got {value!r}"
    messages = {
        "bool_type": "expected true or false",
        "int_type": "expected a number (whole)", "int_from_float": "expected a number (whole)",
        "float_type": "expected a number", "string_type": "expected a string",
        "list_type": "expected a list", "dict_type": "expected a mapping",
        "model_type": "expected a mapping", "model_attributes_type": "expected a mapping",
        "date_type": "expected a date (YYYY-MM-DD)",
    }
    if kind in messages:
        scalar = kind.startswith(("bool", "int", "float", "date"))
        shown = f"{value!r:.60}" if scalar else _kind(value)
        return f"{messages[kind]}, got {shown}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s)"
    if kind == "string_too_short":
        return "expected a non-empty string"
    return f"{error['msg']}, got {value!r:.60}"


def check(test: Callable[[Any], bool], message: str) -> AfterValidator:
    """A field validator for ``Annotated[...]``: ``message`` (``{value!r}`` filled) when
    ``test(value)`` is false."""

    def run(value: Any) -> Any:
        if not test(value):
            raise ValueError(message.format(value=value))
        return value

    return AfterValidator(run)


NonEmptyStr = Annotated[str, check(lambda v: bool(v.strip()), "expected a non-empty string")]


def expect(message: str) -> WrapValidator:
    """A field's own wording for a value of the wrong type or not among its choices, for
    ``Annotated[...]``: ``<message>, got <type>`` (``got <value>`` for a choice); errors inside
    the value (in list items, say) keep their own wording.
    """

    def run(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            errors = exc.errors()
            if value is None or any(e["loc"] for e in errors):
                raise
            if all(e["type"] == "literal_error" for e in errors):
                raise ValueError(f"{message}, got {value!r:.60}") from None
            if not all(e["type"].endswith("_type") for e in errors):
                raise
            raise ValueError(f"{message}, got {_kind(value)}") from None

    return WrapValidator(run)


def schema_for(record: type, exclude: tuple[str, ...] = (), **overrides: Any) -> type[ConfigModel]:
    """The schema of a settings dataclass: its fields, types and defaults (defined once, in the
    dataclass), unknown keys forbidden. ``overrides`` give a field a narrower type (a range, a
    custom wording: ``growth_factor=Annotated[float, Field(gt=1)]``). Nested settings
    dataclasses become nested schemas; ``tuple[X, ...]`` fields take a YAML list. Fields in
    ``exclude`` are not settable from the file (they keep their defaults)."""
    hints = typing.get_type_hints(record, include_extras=True)
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        if item.name in exclude:
            continue
        kind = overrides.get(item.name, hints[item.name])
        if dataclasses.is_dataclass(kind):
            kind = schema_for(kind)  # type: ignore[arg-type]
        elif typing.get_origin(kind) is tuple:
            kind = Annotated[list[typing.get_args(kind)[0]], AfterValidator(tuple)]
        if item.default is not dataclasses.MISSING:
            fields[item.name] = (kind, item.default)
        elif item.default_factory is not dataclasses.MISSING:
            factory = kind if isinstance(kind, type) and issubclass(kind, BaseModel) else (
                item.default_factory)
            fields[item.name] = (kind, Field(default_factory=factory))
        else:
            fields[item.name] = (kind, ...)
    return create_model(f"{record.__name__}Schema", __base__=ConfigModel, **fields)


R = TypeVar("R")


def build(record: type[R], values: BaseModel) -> R:
    """The settings dataclass ``record`` from a validated :func:`schema_for` instance."""
    hints = typing.get_type_hints(record)
    made = {}
    for item in dataclasses.fields(record):  # type: ignore[arg-type]
        if item.name not in type(values).model_fields:
            continue
        value = getattr(values, item.name)
        if isinstance(value, BaseModel) and dataclasses.is_dataclass(hints[item.name]):
            value = build(hints[item.name], value)
        made[item.name] = value
    return record(**made)
