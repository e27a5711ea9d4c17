"""CSV downloads under UI tables: one helper every page uses (``csv_download``).

Cells are written as text a spreadsheet will not evaluate (``search.export.spreadsheet_safe``:
titles come from outside), in UTF-8 with a byte-order mark so spreadsheet programs read
Chinese, Russian or Arabic text correctly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
import streamlit as st

from cityradar.records import Alert, Article
from search.export import alert_row, article_row, spreadsheet_safe


def csv_bytes(frame: pd.DataFrame) -> bytes:
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(spreadsheet_safe)
    return safe.to_csv(index=False).encode("utf-8-sig")


def csv_download(data: pd.DataFrame | Callable[[], pd.DataFrame], file_name: str, key: str,
                 label: str = "Download CSV", target: Any = st) -> None:
    """A download button for ``data`` (a frame, or a function building it when clicked,
    for large tables); ``file_name`` without extension."""
    if isinstance(data, pd.DataFrame):
        payload: bytes | Callable[[], bytes] = csv_bytes(data)
        disabled = data.empty
    else:
        build = data
        payload, disabled = (lambda: csv_bytes(build())), False
    target.download_button(label, payload, file_name=f"{file_name}.csv", mime="text/csv",
                           key=f"csv_{key}", icon=":material/download:", disabled=disabled,
                           on_click="ignore")


def articles_frame(articles: Iterable[Article]) -> pd.DataFrame:
    """Articles as the export's flat columns (title, translation, outlet, tone, url…)."""
    return pd.DataFrame([article_row(a) for a in articles])


def alerts_frame(alerts: Iterable[Alert]) -> pd.DataFrame:
    return pd.DataFrame([alert_row(a) for a in alerts])
