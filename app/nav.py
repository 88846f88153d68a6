"""Hand-offs between pages: put a value in session state, then switch to the target page.

app/main.py registers the page objects under PAGES_KEY on every run (callable pages can only be
switched to through their StreamlitPage object); when a page runs on its own (tests), the value
is still handed over and the user is told where to look."""
from __future__ import annotations

import streamlit as st

# Session-state key of {url path: StreamlitPage}, written by app/main.py on every run.
PAGES_KEY = "_nav"


def handoff(key: str, value, page: str, label: str) -> None:
    st.session_state[key] = value
    target = st.session_state.get(PAGES_KEY, {}).get(page)
    if target is not None:
        st.switch_page(target)
    st.success(f"Sent to the {label} page.", icon=":material/check:")
