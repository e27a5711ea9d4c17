"""Reading JSON lines from outside (``cityradar import``, ``cityradar tag``): one parse for all.

``parse_json_line(raw)`` returns ``(value, None)`` or ``(None, one-line reason)``; it never
raises. Python's ``json`` recurses once per nesting level, so a line of 100,000 ``[`` raised
``RecursionError`` and aborted the whole run (the good lines before it were lost). Lines
nested deeper than ``MAX_DEPTH`` are refused before parsing, and a ``RecursionError`` that
still happens is turned into a per-line error as well.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # far deeper than any article record; far below the interpreter's limit
_BRACKETS_OR_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nesting_depth(raw: str, limit: int = MAX_DEPTH) -> int:
    """The deepest bracket nesting of a JSON text (strings skipped); stops counting past
    ``limit``."""
    depth = deepest = 0
    for match in _BRACKETS_OR_STRINGS.finditer(raw):
        token = match.group(0)
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif token in "]}":
            depth -= 1
    return deepest


def parse_json_line(raw: str, max_depth: int = MAX_DEPTH) -> tuple[Any, str | None]:
    """One JSON value, or None and the reason it cannot be read."""
    if nesting_depth(raw, max_depth) > max_depth:
        return None, f"invalid JSON: nested deeper than {max_depth} levels"
    try:
        return json.loads(raw), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} (column {exc.colno})"
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    except ValueError as exc:  # e.g. an integer with too many digits
        return None, f"invalid JSON: {str(exc).splitlines()[0][:120]}"
