"""`mnas app`: start the Streamlit app on this machine only (127.0.0.1), without a browser
popping up, writing new runs to --runs-dir and listing the recorded ones in sample_runs/."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..runtime import tuned_env

# The app lives beside the package in the repository (an editable install keeps it there).
APP_MAIN = Path(__file__).resolve().parents[2] / "app" / "main.py"
THEME = {"primaryColor": "#4C78A8", "font": "sans serif"}


def streamlit_command(args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP_MAIN),
           "--server.address", args.address, "--server.port", str(args.port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.runOnSave", "false", "--client.toolbarMode", "minimal"]
    cmd += [arg for key, val in THEME.items() for arg in (f"--theme.{key}", val)]
    cmd += ["--", "--runs-dir", str(Path(args.runs_dir).expanduser().resolve())]
    for folder in args.sample_dir or ():
        cmd += ["--sample-dir", str(Path(folder).expanduser().resolve())]
    return cmd


def cmd_app(args: argparse.Namespace) -> int:
    if not APP_MAIN.is_file():
        raise ValueError(f"the app is not next to this installation ({APP_MAIN} is missing); "
                         "install MNAS Explorer from its repository with `pip install -e .`")
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    Path(args.runs_dir).expanduser().mkdir(parents=True, exist_ok=True)
    cmd = streamlit_command(args)
    print(f"MNAS Explorer: http://{args.address}:{args.port}  (Ctrl-C to stop)", flush=True)
    # Replace this process: Ctrl-C and kill reach Streamlit directly, and searches it spawns
    # inherit the tuned malloc environment (see mnas_core/runtime.py).
    os.execve(cmd[0], cmd, tuned_env())
    return 0  # not reached


def register(sub) -> None:
    p = sub.add_parser("app", help="start the MNAS Explorer web app (Streamlit, 127.0.0.1)")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.add_argument("--address", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--runs-dir", default="runs",
                   help="folder for runs started from the app (default ./runs)")
    p.add_argument("--sample-dir", action="append", metavar="DIR",
                   help="folder of recorded runs to list (repeatable; default: the "
                        "repository's sample_runs/)")
    p.set_defaults(func=cmd_app)
