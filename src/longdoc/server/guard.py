"""The checks every request passes before any route sees it: host, origin,
bearer token and body size. A plain ASGI middleware, so an oversized body is
refused before a byte of it is parsed.

Starlette's own middlewares do not cover these: TrustedHostMiddleware takes a
fixed list of names, not "any loopback address, or any host once a token is
set"; CORSMiddleware decides what a browser may read, but a cross-site form
post still reaches the routes; RequestBodyLimitMiddleware has one limit for
every route and does not read the rest of a refused body, so a client still
sending sees a reset instead of the 413. All of them answer in plain text, not
the API's error shape."""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_body
from .i18n import language, translate
from .options import ServerOptions, is_loopback

# Paths anyone may fetch: the page must load before it can ask for a token,
# and health probes carry no credentials.
_PUBLIC_PREFIXES = ("/static/",)
_PUBLIC_PATHS = frozenset({"/", "/health", "/ready", "/v1/info", "/favicon.ico"})
UPLOAD_PATH = "/v1/files"
_MULTIPART_SLACK = 64 * 1024  # part headers and boundaries around the files themselves
# Reading (and dropping) the rest of a refused body lets the client see the
# 413: closing a socket with unread data resets it and loses the response.
_DRAIN_LIMIT = 16 * 1024 * 1024


class BodyTooLarge(Exception):
    pass


class Guard:
    def __init__(self, app: ASGIApp, options: ServerOptions) -> None:
        self.app = app
        self.options = options

    def body_limit(self, scope: Scope) -> int:
        if scope["method"] == "POST" and scope["path"] == UPLOAD_PATH:
            return self.options.max_upload_bytes + _MULTIPART_SLACK
        return self.options.max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        lang = language(headers)
        if refusal is not None:
            await _drain(receive)
            await _respond(send, refusal[0], translate(refusal[1], lang))
            return
        limit = self.body_limit(scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _drain(receive)
            await _respond(send, 413, translate(_too_large(limit), lang))
            return

        received = 0
        body_done = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, body_done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            if not body_done:
                await _drain(receive)
            await _respond(send, 413, translate(_too_large(limit), lang))

    def _refusal(self, scope: Scope, headers: Headers) -> tuple[int, str] | None:
        host = headers.get("host", "")
        hostname = urlsplit(f"//{host}").hostname or ""
        if not self.options.token and not is_loopback(hostname):
            # Without a token only loopback names may reach us: a web page
            # could otherwise point its own domain at 127.0.0.1 (DNS rebinding).
            return 403, f"host '{hostname}' not allowed: without a token this server only answers to localhost"
        origin = headers.get("origin")
        # "null" is what a sandboxed iframe or a local file sends: a page of unknown origin.
        if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower()):
            # Browsers send Origin on cross-site posts; a form on another site
            # must not upload to, or ask, a server on this machine.
            return 403, "cross-origin requests are not allowed"
        if self.options.token and not self._public(scope["path"]):
            given = headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not value:
                return 401, "missing bearer token: send 'Authorization: Bearer <token>'"
            if not secrets.compare_digest(value.strip().encode(), self.options.token.encode()):
                return 401, "invalid bearer token"
        return None

    @staticmethod
    def _public(path: str) -> bool:
        return path in _PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES)


def _too_large(limit: int) -> str:
    return f"request body too large: the limit is {limit:,} bytes"


async def _drain(receive: Receive) -> None:
    seen = 0
    while seen < _DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _respond(send: Send, status: int, message: str) -> None:
    body = json.dumps(error_body(status, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
