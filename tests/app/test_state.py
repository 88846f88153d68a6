"""Page state: each page owns the session-state keys it keeps and those others send it."""
from __future__ import annotations

import ast
import inspect

from app.views import inspector, phone, results, reward, search, space
from tests.app.conftest import ROOT

VIEWS = (space, reward, search, results, inspector, phone)


def test_each_page_keeps_only_widgets_it_draws():
    for mod in VIEWS:
        src = inspect.getsource(mod)
        for key in mod.KEEP:
            assert f'key="{key}"' in src, f"{mod.__name__} keeps {key!r} but draws no such widget"
    keys = [k for mod in VIEWS for k in mod.KEEP]
    assert len(keys) == len(set(keys))  # no two pages claim one key


def test_main_keeps_what_the_pages_list_and_routes_by_their_urls():
    tree = ast.parse((ROOT / "app" / "main.py").read_text())
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                and isinstance(n.value, str)]
    # main.py names no page's keys or urls itself: they come from the view modules.
    owned = {k for mod in VIEWS for k in mod.KEEP} | {mod.URL for mod in VIEWS}
    assert not owned & set(literals)
    assert len({mod.URL for mod in VIEWS}) == len(VIEWS)


def test_hand_off_keys_belong_to_the_receiving_page():
    for sender, receiver in ((space, inspector), (results, inspector), (search, inspector),
                             (inspector, phone)):
        src = inspect.getsource(sender)
        assert f"nav.handoff({receiver.__name__.rsplit('.', 1)[1]}.HANDOFF" in src
        assert f'"{receiver.HANDOFF}"' not in src  # no bare copy of the key
