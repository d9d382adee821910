"""`guanxi ui`: the strategist's browser UI (a Solara server on this machine).

Binds 127.0.0.1 unless told otherwise, serves every front-end asset locally (no
CDN, no telemetry: see :mod:`viz.offline`) and opens the default scenario. The
server is Solara's own (``solara run viz/app.py``), started in this process.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import warnings
from pathlib import Path

from sim.errors import GuanxiError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
APP = Path(__file__).resolve().parent.parent / "viz" / "app.py"


def register(subparsers: argparse._SubParsersAction) -> None:
    ui = subparsers.add_parser(
        "ui",
        help="open the strategist's browser UI on the default scenario",
        description="Start the browser UI (Solara) on this machine and print its address.",
    )
    ui.add_argument(
        "--host",
        type=host_name,
        default=DEFAULT_HOST,
        help=f"address to bind (default {DEFAULT_HOST}: only this machine can connect)",
    )
    ui.add_argument("--port", type=port_number, default=DEFAULT_PORT, help="port (default 8765)")
    ui.add_argument(
        "--open",
        dest="open_browser",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="open a browser tab (default: only when a desktop session is present)",
    )
    ui.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of calibration and optimisation results the UI lists, and where "
        "optimisations started in the UI write (default: $GUANXI_UI_DATA, else ./runs)",
    )
    ui.set_defaults(func=cmd_ui)


def host_name(text: str) -> str:
    """An address to bind; an empty one (every interface, silently) is refused."""
    if not text.strip() or any(char.isspace() or char == "\x00" for char in text):
        raise argparse.ArgumentTypeError(
            f"expected an address such as 127.0.0.1 or 0.0.0.0, got {text!r}"
        )
    return text


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port 1..65535, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 1..65535, got {value}")
    return value


def has_desktop() -> bool:
    """Whether opening a browser makes sense (a GUI session; never over plain SSH)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def check_port_free(host: str, port: int) -> None:
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise GuanxiError(
            f"--host {host} --port {port}: cannot listen there ({exc.strerror}); "
            "choose another port with --port"
        ) from None


def solara_arguments(host: str, port: int, open_browser: bool) -> list[str]:
    """Arguments of `solara run` for the app: production mode, no version check online."""
    return [
        str(APP),
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-check-version",
        "--open" if open_browser else "--no-open",
        "--log-level-uvicorn",
        "warning",
    ]


def cmd_ui(args: argparse.Namespace) -> int:
    # Solara reads its settings when first imported: make them local-only first.
    from viz.offline import set_offline_environment

    set_offline_environment()
    # Served over plain http on purpose (a local tool): Solara then falls back to
    # SameSite=Lax session cookies, which is right, but warns at every first visit.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    check_port_free(args.host, args.port)
    if getattr(args, "data", None) is not None:
        if args.data.exists() and not args.data.is_dir():
            raise GuanxiError(f"--data {args.data}: not a folder")
        os.environ["GUANXI_UI_DATA"] = str(args.data)  # read by viz.posterior.data_folder
    open_browser = has_desktop() if args.open_browser is None else args.open_browser
    from solara.__main__ import run

    print(f"guanxi ui: http://{args.host}:{args.port}/ (Ctrl+C to stop)", flush=True)
    run.main(solara_arguments(args.host, args.port, open_browser), standalone_mode=False)
    return 0
