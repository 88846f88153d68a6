"""Page 1: the factorized hierarchical search space (paper section 4.1), editable."""
from __future__ import annotations

import numpy as np
import streamlit as st

from app import diagram, nav, space_table
from app.config import AppConfig
from app.views import inspector
from mnas_core import viz
from mnas_core.profile import totals
from mnas_core.space import SearchSpace

URL = "space"
SPACE = "space"  # the last valid edited SearchSpace, which the search page can use
KEEP = ("space_seed",)  # widgets whose values survive a visit to another page (app/main.py)
EDITOR = "space_editor"


def _editor_key() -> str:
    # Loading a file or resetting bumps the version, which gives the editor a fresh state.
    return f"{EDITOR}_{st.session_state.get('space_editor_v', 0)}"


def _set_base(space: SearchSpace) -> None:
    st.session_state["space_base"] = space
    st.session_state[SPACE] = space
    st.session_state["space_editor_v"] = st.session_state.get("space_editor_v", 0) + 1


def _network_settings(base: SearchSpace) -> SearchSpace:
    with st.expander("Network-wide settings of every sampled model"):
        c = st.columns(4)
        res = c[0].number_input("resolution", 8, 1024, base.resolution, step=8)
        classes = c[1].number_input("classes", 2, 100_000, base.num_classes)
        width = c[2].number_input("width multiplier", 0.1, 3.0, float(base.width), step=0.05)
        small = c[3].toggle("small input (32x32 variant)", base.small_input,
                            help="stem and the first stride-2 block run at stride 1")
    return base.replace(resolution=int(res), num_classes=int(classes), width=float(width),
                        small_input=bool(small))


def _load_save(space: SearchSpace | None) -> None:
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    c1.download_button("Save space as JSON", space.to_json() if space else "",
                       file_name="search_space.json", mime="application/json",
                       disabled=space is None, icon=":material/download:",
                       help="fix the errors above first" if space is None else None)
    if c2.button("Reset to the paper's space", icon=":material/restart_alt:"):
        _set_base(SearchSpace())
        st.rerun()
    upload = c3.file_uploader("Load a space JSON", type=["json"], key="space_upload")
    if upload is not None and st.session_state.get("space_loaded") != upload.file_id:
        st.session_state["space_loaded"] = upload.file_id
        try:
            _set_base(SearchSpace.from_json(upload.getvalue().decode("utf-8", "replace")))
            st.rerun()
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            # Any malformed file (wrong types, a list instead of an object...) is explained.
            st.error(f"Could not load {upload.name}: {err}", icon=":material/error:")


def _draw(space_json: str) -> None:
    """Button callback: draw with the seed shown, then offer the next seed for the next draw."""
    seed = int(st.session_state["space_seed"])
    st.session_state["space_sample"] = (seed, space_json)
    st.session_state["space_seed"] = seed + 1


def _sample(space: SearchSpace) -> None:
    st.subheader("Sample an architecture")
    c1, c2 = st.columns([1, 4], vertical_alignment="bottom")
    st.session_state.setdefault("space_seed", 0)
    c1.number_input("seed", 0, 2**31 - 1, key="space_seed")
    c2.button("Sample a random architecture", type="primary", icon=":material/casino:",
              on_click=_draw, args=(space.to_json(),))
    drawn = st.session_state.get("space_sample")
    if not drawn:
        st.caption("Each block draws its own op, kernel, SE, skip, filters and layer count "
                   "uniformly from its options.")
        return
    seed_used, space_json = drawn
    drawn_space = SearchSpace.from_json(space_json)
    try:
        arch = drawn_space.sample(np.random.default_rng(seed_used))
        cost = totals(arch)
    except ValueError as err:
        st.error(f"This sample cannot be built: {err}", icon=":material/error:")
        return
    st.plotly_chart(diagram.block_diagram(arch, f"Seed {seed_used}: {cost.params / 1e6:.2f}M "
                                                f"params, {cost.macs / 1e6:.0f}M MACs"),
                    key="space_sample_fig")
    st.code(arch.to_string(), language=None, wrap_lines=True)
    if st.button("Open in the model inspector", icon=":material/memory:"):
        nav.handoff(inspector.HANDOFF, arch.to_string(), inspector.URL, "Model inspector")


def page(cfg: AppConfig) -> None:
    st.title("Search space")
    st.markdown("MnasNet factorizes the network into **7 blocks** over the MobileNetV2 "
                "skeleton. Each block chooses *once* for all its layers: ConvOp, kernel, "
                "squeeze-excite ratio, skip op, filter multiplier and layer delta. Edit the "
                "options per block; the space size updates live.")
    if _editor_key() not in st.session_state and SPACE in st.session_state:
        # Back from another page: Streamlit dropped the editor's state, so start from the
        # last valid space (the one searches use) instead of losing the edits.
        st.session_state["space_base"] = st.session_state[SPACE]
    base = st.session_state.get("space_base") or SearchSpace()
    base = _network_settings(base)
    config = {
        "block": st.column_config.NumberColumn("block", disabled=True, width=46),
        space_table.SKELETON: st.column_config.TextColumn(
            space_table.SKELETON, disabled=True, width=86,
            help="MobileNetV2 skeleton (fixed): input², filters × layers, stride"),
    }
    for col, (_, _, options, width) in space_table.COLUMNS.items():
        config[col] = st.column_config.MultiselectColumn(
            col, options=options, accept_new_options=True, help=space_table.HELP[col],
            width=width)
    st.caption("skeleton: the fixed MobileNetV2 block each row is searched around, as "
               "input², filters × layers and stride (\"56² 24×2 s2\"). Click an option cell "
               "to add or remove options, or type a new value to add one.")
    edited = st.data_editor(space_table.space_to_table(base), key=_editor_key(),
                            column_config=config, hide_index=True, num_rows="fixed",
                            width="stretch")
    try:
        space = space_table.table_to_space(edited, base)
        st.session_state[SPACE] = space
    except ValueError as err:
        space = None
        st.error(f"**This edit makes the space invalid:** {err}. The last valid space is kept "
                 "for searches until this is fixed.", icon=":material/error:")
    if space is not None:
        S = space.block_choices()
        m = st.columns(4)
        m[0].metric("Space size", f"10^{space.log10_size():.2f}",
                    help=f"{space.size():.3e} architectures (decision sequences)")
        m[1].metric("Choices per block S_b", " · ".join(str(s) for s in S) if len(set(S)) > 1
                    else f"{S[0]} each")
        m[2].metric("Paper's space", "≈ 10^13", help="S = 432 choices, B = 5 blocks: 432^5")
        m[3].metric("Per-layer space over these layers", f"10^{space.log10_per_layer_size():.1f}",
                    help="what a flat space letting every layer choose on its own would be")
        st.plotly_chart(viz.space_sizes(space.log10_size(), space.log10_per_layer_size()),
                        key="space_sizes_fig")
    _load_save(space)
    st.divider()
    if space is not None:
        _sample(space)
