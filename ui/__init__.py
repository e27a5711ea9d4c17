"""Streamlit UI: reads only through the Store query API."""
