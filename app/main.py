"""MNAS Explorer: the Streamlit entry point. Start it with `mnas app` (or
`streamlit run app/main.py -- --runs-dir runs`). This file only routes: every page is a
function in app/views/ that receives the AppConfig explicitly."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

# `streamlit run app/main.py` puts app/ on sys.path, not the repository root that holds the
# `app` package; the entry script (never a library module) fixes that for its own imports.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from app.config import parse_args  # noqa: E402
from app.nav import PAGES_KEY  # noqa: E402
from app.views import (compare, inspector, instant, phone, results, reward, search,  # noqa: E402
                       space)

PAGES = (  # (module, title, icon); each module owns its url path (URL)
    (space, "Search space", ":material/account_tree:"),
    (reward, "Reward explorer", ":material/tune:"),
    (instant, "Instant search", ":material/bolt:"),
    (search, "Run a search", ":material/play_circle:"),
    (results, "Results & comparison", ":material/insights:"),
    (compare, "Compare models", ":material/compare:"),
    (inspector, "Model inspector", ":material/memory:"),
    (phone, "Phone", ":material/smartphone:"),
)


def keep_other_pages_state(current) -> None:
    """Widget values worth keeping while the user visits other pages (each page lists its
    own in KEEP): Streamlit forgets the state of widgets a run does not draw, and
    re-assigning makes it plain session state that survives. Only the keys of pages other
    than `current` (the module of the page being drawn): a re-assigned widget of the page
    being drawn is sent back to the browser, and under a held arrow key that reset the slider
    mid-move, so the page never settled."""
    for mod, _, _ in PAGES:
        if mod is current:
            continue
        for key in mod.KEEP:
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]


def main(argv: list[str]) -> None:
    cfg = parse_args(argv)
    st.set_page_config(page_title="MNAS Explorer", page_icon=":material/hub:", layout="wide")
    pages = [st.Page(functools.partial(mod.page, cfg), title=title, icon=icon,
                     url_path=mod.URL, default=i == 0)
             for i, (mod, title, icon) in enumerate(PAGES)]
    st.session_state[PAGES_KEY] = {mod.URL: pg for (mod, _, _), pg in zip(PAGES, pages)}
    with st.sidebar:
        st.markdown("### MNAS Explorer")
        st.caption("Platform-aware neural architecture search, after Tan et al., "
                   "*MnasNet*, CVPR 2019.")
    current = st.navigation(pages)
    # by the page's url_path, which Streamlit reports as "" for the default page
    owner = {pg.url_path: mod for (mod, _, _), pg in zip(PAGES, pages)}.get(current.url_path)
    keep_other_pages_state(owner)
    current.run()


main(sys.argv[1:])
