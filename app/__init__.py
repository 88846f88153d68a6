"""The MNAS Explorer Streamlit app (the only package that imports streamlit)."""
