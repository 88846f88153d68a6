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
from app.views import inspector, phone, results, reward, search, space  # noqa: E402

PAGES = (  # (module, title, icon, url path)
    (space, "Search space", ":material/account_tree:", "space"),
    (reward, "Reward explorer", ":material/tune:", "reward"),
    (search, "Run a search", ":material/play_circle:", "search"),
    (results, "Results & comparison", ":material/insights:", "results"),
    (inspector, "Model inspector", ":material/memory:", "inspector"),
    (phone, "Phone", ":material/smartphone:", "phone"),
)


# Widget values worth keeping while the user visits other pages (Streamlit forgets the state
# of widgets a run does not draw; re-assigning makes it plain session state that survives).
KEEP = ("rw_T", "rw_alpha", "rw_beta", "rw_k", "rw_r", "rw_run", "res_runs", "insp_source",
        "insp_zoo", "insp_res", "insp_classes", "insp_text", "insp_run", "space_seed",
        "ph_how", "ph_host", "ph_port", "ph_runner")


def main(argv: list[str]) -> None:
    cfg = parse_args(argv)
    for key in KEEP:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.set_page_config(page_title="MNAS Explorer", page_icon=":material/hub:", layout="wide")
    pages = [st.Page(functools.partial(mod.page, cfg), title=title, icon=icon, url_path=url,
                     default=i == 0)
             for i, (mod, title, icon, url) in enumerate(PAGES)]
    st.session_state["_nav"] = {url: pg for (_, _, _, url), pg in zip(PAGES, pages)}
    with st.sidebar:
        st.markdown("### MNAS Explorer")
        st.caption("Platform-aware neural architecture search, after Tan et al., "
                   "*MnasNet*, CVPR 2019.")
    st.navigation(pages).run()


main(sys.argv[1:])
