"""Reading a user's text file (a CSV of series, CICII inputs) with one-line errors."""

from __future__ import annotations

from pathlib import Path


def read_utf8_text(path: Path | str, error: type[Exception]) -> str:
    """The file's text (UTF-8, a byte-order mark dropped); a missing or unreadable file or
    bytes that are not UTF-8 raise ``error`` with one line naming the file."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason})") from exc
