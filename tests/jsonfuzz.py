"""Hypothesis strategies for fuzzing the JSON boundary (tests/test_arch.py, test_space.py):
any JSON value, and valid documents with a few edits."""
import copy

from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids,
                                                               max_size=4),
    max_leaves=12)


def json_paths(doc, prefix=()):
    yield prefix
    children = doc.items() if isinstance(doc, dict) else \
        enumerate(doc) if isinstance(doc, list) else ()
    for key, child in children:
        yield from json_paths(child, prefix + (key,))


@st.composite
def mutations(draw, valid: st.SearchStrategy, keys: list[str], tricky: st.SearchStrategy):
    """A valid document with up to three edits: a value replaced, a key or item removed, a
    key or item added. `tricky`: values next to the valid ones (wrong types, range edges)."""
    doc = copy.deepcopy(draw(valid))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(list(json_paths(doc))))
        value = draw(tricky | JSON)
        if not path:
            doc = value
            continue
        *parents, last = path
        parent = doc
        for key in parents:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[last] = value
        elif action == "remove":
            del parent[last]
        elif isinstance(parent[last], dict):
            parent[last][draw(st.sampled_from(keys) | st.text(max_size=6))] = value
        elif isinstance(parent[last], list):
            parent[last].append(value)
    return doc
