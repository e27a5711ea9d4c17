"""CityRadar Streamlit app: overview (the landing page), alerts inbox, city, planner, search,
sources.

Run with ``cityradar ui`` (or ``python -m streamlit run ui/app.py``); the store URL comes from
CITYRADAR_STORE and the config directory from CITYRADAR_CONFIG.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run ui/app.py` only puts ui/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui import auth, data, safe  # noqa: E402

st.set_page_config(page_title="CityRadar", page_icon=":material/radar:", layout="wide")

PAGES = [
    # The leadership's landing page (issue 11); the alert inbox is /alerts.
    st.Page("views/overview.py", title="Overview", icon=":material/leaderboard:",
            default=True),
    st.Page("views/alerts.py", title="Alerts", icon=":material/notifications_active:"),
    st.Page("views/city.py", title="City", icon=":material/location_city:"),
    st.Page("views/planner.py", title="Planner", icon=":material/travel_explore:"),
    st.Page("views/search.py", title="Search", icon=":material/search:"),
    st.Page("views/sources.py", title="Sources", icon=":material/monitor_heart:"),
]
# The page is chosen first (so a page opened by its URL is still the page after signing in),
# its list hidden until the session is signed in; then the gate: in production nothing below
# runs, on any page, before that.
navigation = st.navigation(PAGES, position="sidebar" if auth.signed_in_or_open() else "hidden")
auth.gate()

url = data.store_url()
health = data.store_health(url)

with st.sidebar:
    st.markdown("### :material/radar: CityRadar")
    if health.get("ok"):
        articles = health.get("articles")
        count_text = f" · {articles:,} articles" if isinstance(articles, int) else ""
        st.success(f"Store ok ({health.get('backend', '?')}){count_text}",
                   icon=":material/check_circle:")
    else:
        detail = safe.md(safe.redacted(url, health.get("detail") or "no detail"))
        st.warning(f"Store degraded/unreachable: {detail}", icon=":material/warning:")

if not health.get("ok"):
    detail = safe.md(safe.redacted(url, health.get("detail") or "no detail"))
    st.warning(
        "**Store degraded/unreachable** — CityRadar cannot read its data right now "
        f"({safe.md(safe.redacted(url))}): {detail}. "
        "Check the store (e.g. is Elasticsearch up?) and reload this page.",
        icon=":material/warning:",
    )
    st.stop()

try:
    span = data.date_range(url)
except Exception as exc:
    st.error(f"Cannot read the date range from the store: {safe.md(safe.redacted(url, str(exc)))}")
    st.stop()

with st.sidebar:
    if span is None:
        st.info("The store holds no dated articles yet.")
        st.session_state["window"] = (None, None)
    else:
        first, last = span
        chosen = st.date_input("Date range", value=(first, last), min_value=first,
                               max_value=max(last, date.today()), key="window_input")
        if isinstance(chosen, tuple | list) and len(chosen) == 2:
            st.session_state["window"] = (chosen[0], chosen[1])
        else:  # the user picked only the first day so far
            st.session_state["window"] = (chosen[0] if chosen else first, last)
    st.caption(f"Store: {safe.md(safe.redacted(url))}")

navigation.run()
