"""What a server instance allows: its token and its limits, and whether an
address may be bound at all."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..errors import ConfigError

MiB = 1024 * 1024


@dataclass(frozen=True)
class ServerOptions:
    token: str | None = None  # bearer token; None = no authentication (loopback only)
    max_upload_bytes: int = 100 * MiB  # one upload request (one or several files)
    max_files_per_upload: int = 32
    max_json_bytes: int = 1 * MiB  # any other request body
    max_question_chars: int = 4000
    ask_workers: int = 4  # threads running questions; the embedded model still takes one at a time
    max_pending_asks: int = 256  # questions running or waiting; more get 503
    keepalive_seconds: float = 15.0  # SSE comment while a stream has nothing to say
    max_stored_bytes: int = 10 * 1024 * MiB  # all uploads kept together; more get 507
    parse_seconds: float = 60.0  # one upload's parse, in a child process killed after it
    parse_memory_mb: int = 4096  # the parsing child's address space


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public address: assume it does


def check_bind(host: str, token: str | None) -> None:
    """Refuse to expose the documents beyond this machine without a token."""
    if not token and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host} without a token: anyone who can reach it could read "
            "your documents. Set --token or LONGDOC_TOKEN, or bind 127.0.0.1"
        )
