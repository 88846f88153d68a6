"""Hand-offs between pages: put a value in session state, then switch to the target page.

app/main.py registers the page objects under "_nav" on every run (callable pages can only be
switched to through their StreamlitPage object); when a page runs on its own (tests), the value
is still handed over and the user is told where to look."""
from __future__ import annotations

import streamlit as st


def handoff(key: str, value, page: str, label: str) -> None:
    st.session_state[key] = value
    target = st.session_state.get("_nav", {}).get(page)
    if target is not None:
        st.switch_page(target)
    st.success(f"Sent to the {label} page.", icon=":material/check:")
