"""Sources page: per-source ingest health, failing sources first."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import data, safe
from ui.downloads import csv_download

url = data.store_url()

try:
    st.title("Sources")
    health = data.source_health(url)
    if not health:
        st.info("No source has been fetched yet.")
        st.stop()
    frame = pd.DataFrame(
        [
            {
                "source": h.source_id,
                "state": "failing" if h.consecutive_failures else "ok",
                "failures in a row": h.consecutive_failures,
                "last success": h.last_success,
                "last attempt": h.last_attempt,
                "last error": h.last_error or "",
                "warning": h.last_warning or "",
                "items (last fetch)": h.items_seen,
                "new (last fetch)": h.items_new,
                "stored in all": h.total_items,
            }
            for h in health
        ]
    ).sort_values(["failures in a row", "source"], ascending=[False, True])
    failing = int((frame["state"] == "failing").sum())
    st.caption(f"{len(frame)} source(s), {failing} failing")
    if failing:
        st.warning(f"{failing} source(s) failing: "
                   + ", ".join(safe.md(s) for s in frame.loc[frame["state"] == "failing",
                                                             "source"][:10]))
    st.dataframe(frame, hide_index=True, width="stretch")
    csv_download(frame, "source-health", "sources", "Download source health (CSV)")
except Exception as exc:  # a store failure mid-page: say so, keep the app alive
    data.show_failure("Loading source health", exc)
