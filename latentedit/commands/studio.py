"""`latentedit studio`: the browser UI (optional extra ``latentedit[studio]``), on localhost by default."""

from __future__ import annotations

from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, OptionsOpt, QuietOpt
from latentedit.errors import LatentEditError

INSTALL_HINT = "pip install 'latentedit[studio]'"


def check_port_free(host: str, port: int) -> None:
    """Refuse a taken port with one line before anything heavy loads (Gradio's own error is a
    traceback about a port range). The probe binds as the server will (SO_REUSEADDR, as uvicorn
    does on POSIX), so a port a studio served on a moment ago, still in TIME_WAIT, is free."""
    import os
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        if os.name != "nt":  # on Windows the option would let the probe share a port in use
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise LatentEditError(
                f"Cannot serve on {host}:{port} ({exc.strerror or exc}); is another studio running? "
                "Pass --port with a free port."
            ) from None


def studio_command(
    backend: BackendOpt = "embedded",
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; 0.0.0.0 exposes the studio to your network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = 7860,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser tab.")] = False,
    options: OptionsOpt = None,
    device: DeviceOpt = "cpu",
    quiet: QuietOpt = False,
) -> None:
    r"""Edit a photo or a sample with one slider per stored edit of the backend, in the browser.

    Needs the optional extra: pip install 'latentedit\[studio]'. Options (-o KEY=VALUE) are the
    inversion settings `latentedit apply` takes (e.g. steps=100); the same settings share the
    same cached inversions. Stops with Ctrl-C.
    """
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        raise LatentEditError(f"The studio needs the optional extra: {INSTALL_HINT}")
    check_port_free(host, port)

    import os

    from latentedit.console import note
    from latentedit.inversion import InversionOptions
    from latentedit.loaders import load_backend
    from latentedit.options import parse_options
    from latentedit.studio.session import Studio

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from latentedit.studio.app import CSS, build_app

    studio = Studio.open(load_backend(backend, device), parse_options(InversionOptions, options))
    page = build_app(studio)
    offered = f"{len(studio.edits)} edit{'' if len(studio.edits) == 1 else 's'} offered"
    note(f"latentedit studio on http://{host}:{port} ({offered}; Ctrl-C stops it)", quiet)
    try:
        page.launch(
            server_name=host,
            server_port=port,
            inbrowser=not no_browser,
            quiet=True,
            show_error=True,
            ssr_mode=False,
            footer_links=[],
            css=CSS,
        )
    except OSError as exc:  # the port was taken between the check and the launch
        raise LatentEditError(f"Cannot serve on {host}:{port} ({exc}). Pass --port with a free port.") from None
