"""Run the app with uvicorn on an address `longdoc serve` was given."""

from __future__ import annotations

import socket
import sys

import uvicorn

from .. import __version__
from ..config import Settings, ensure_home
from ..errors import ConfigError
from .app import create_app
from .options import ServerOptions, check_bind


def listen(host: str, port: int) -> socket.socket:
    """Bind before starting uvicorn, so a busy port is a one-line error
    (uvicorn would log it and exit 3, which longdoc uses for bad input)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def run(settings: Settings, host: str, port: int, options: ServerOptions, debug: bool = False) -> None:
    check_bind(host, options.token)
    ensure_home(settings.home)  # before saying it listens: uploads could not be stored
    sock = listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    print(f"longdoc {__version__}: http://{shown}:{port}/  (API: http://{shown}:{port}/v1)", file=sys.stderr)
    config = uvicorn.Config(
        create_app(settings, options=options), log_level="debug" if debug else "info", timeout_graceful_shutdown=5
    )
    uvicorn.Server(config).run(sockets=[sock])
