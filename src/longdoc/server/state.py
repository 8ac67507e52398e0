"""What the routes share: one per app, reached through `request.app.state`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from ..config import Settings
from .asking import Asker
from .collections import CollectionStore
from .errors import ApiError
from .files import FileStore
from .model import ModelHolder
from .options import ServerOptions

M = TypeVar("M", bound=BaseModel)


@dataclass
class ServerState:
    settings: Settings
    options: ServerOptions
    model: ModelHolder
    files: FileStore
    asker: Asker
    collections: CollectionStore


def state_of(request: Request) -> ServerState:
    state = request.app.state.longdoc
    assert isinstance(state, ServerState)
    return state


async def read_json(request: Request, model: type[M]) -> M:
    """The body as `model`, or a 400 that says what is wrong with it."""
    body = await request.body()  # read first: an oversized body is a 413 whatever its type
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        # A cross-site form can post text/plain without a CORS preflight; a JSON body it cannot.
        reason = (
            f"send JSON with 'Content-Type: application/json' (got '{kind}')"
            if kind
            else "send JSON with 'Content-Type: application/json'"
        )
        raise ApiError(415, reason, code="not_json")
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed JSON: the body is not UTF-8", code="invalid_json") from None
    except json.JSONDecodeError as e:
        reason = f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}"
        raise ApiError(400, reason, code="invalid_json") from None
    except RecursionError:
        raise ApiError(400, "malformed JSON: nested too deeply", code="invalid_json") from None
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        raise ApiError(400, f"malformed JSON: {str(e).split(';', 1)[0]}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"]) or "body"
            problems.append(f"{where}: {err['msg']}")
        raise ApiError(400, "invalid request: " + "; ".join(problems[:5]), code="invalid_request") from None
