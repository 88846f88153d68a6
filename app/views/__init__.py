"""One module per page, each exposing `page(cfg: AppConfig)`; app/main.py routes to them.

Not named `pages/`: Streamlit would treat a pages/ folder beside main.py as a legacy
multipage app and run these modules as scripts for their URLs before main.py could route."""
