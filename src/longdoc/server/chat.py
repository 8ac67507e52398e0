"""The OpenAI-compatible routes: `/v1/models` and `/v1/chat/completions`.

Everything longdoc adds rides in fields a stock client keeps and ignores:
the request's `file_ids` (the openai client sends it via `extra_body`), and
the response's `citations` and `longdoc` objects. While streaming, progress
arrives as chunks with an empty delta and a `longdoc` object, so a client
that only reads `delta.content` sees nothing unusual. See docs/server.md.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from .. import api
from ..conversation import Turn, fold
from ..records import Answer
from .asking import Event, Names, Question, as_api_error
from .errors import ApiError, error_body
from .i18n import language, translate
from .render import answer_html
from .state import read_json, state_of

router = APIRouter()

MODEL_PREFIX = "longdoc-"
_STARTED = int(time.time())
_DISCONNECT_POLL = 1.0  # seconds between checks that a non-streaming client is still there


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class ChatRequest(BaseModel):
    # Sampling options (temperature, max_tokens, ...) are accepted and ignored:
    # longdoc's settings decide how each of its steps samples.
    model_config = ConfigDict(extra="ignore")
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    file_ids: list[str] | None = None
    collection_id: str | None = None


def model_ids() -> dict[str, str]:
    """Model id -> mode, for the modes this build of longdoc has."""
    return {model_id(m): m for m in api.MODES}


def model_id(mode: str) -> str:
    return f"{MODEL_PREFIX}{mode}"


def mode_for(model: str) -> str:
    ids = model_ids()
    if model not in ids:
        raise ApiError(
            400,
            f"unknown model '{model}': choose one of {', '.join(ids)} (each names a longdoc mode)",
            code="model_not_found",
            param="model",
        )
    return ids[model]


def _model_object(model_id: str) -> dict[str, Any]:
    mode = model_ids()[model_id]
    return {
        "id": model_id,
        "object": "model",
        "created": _STARTED,
        "owned_by": "longdoc",
        "mode": mode,
        "description": api.MODES[mode].description,
    }


@router.get("/v1/models")
async def list_models() -> dict[str, Any]:
    return {"object": "list", "data": [_model_object(m) for m in model_ids()]}


@router.get("/v1/models/{model_id}")
async def get_model(model_id: str) -> dict[str, Any]:
    if model_id not in model_ids():
        raise ApiError(404, f"no such model: {model_id}", code="model_not_found")
    return _model_object(model_id)


def _text_of(m: ChatMessage) -> str:
    if m.content is None or isinstance(m.content, str):
        return m.content or ""
    texts = []
    for part in m.content:
        if part.type != "text":
            message = f"only text content is supported (got a '{part.type}' part)"
            raise ApiError(400, message, code="unsupported_content")
        texts.append(part.text or "")
    return "\n".join(texts)


def question_from(messages: list[ChatMessage], max_chars: int) -> str:
    turns = [Turn(m.role, _text_of(m)) for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, "the last message must be the user's question", code="invalid_request", param="messages")
    question = turns[-1].text.strip()
    if not question:
        raise ApiError(400, "the question is empty", code="invalid_request", param="messages")
    if len(question) > max_chars:
        raise ApiError(
            400,
            f"the question is {len(question):,} characters; the limit is {max_chars:,}",
            code="question_too_long",
            param="messages",
        )
    return fold(turns[:-1], question)


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(request: Request) -> Response:
    state = state_of(request)
    req = await read_json(request, ChatRequest)
    mode = mode_for(req.model)
    question = question_from(req.messages, state.options.max_question_chars)
    collection = state.collections.get(req.collection_id) if req.collection_id else None
    files = state.files.for_question(req.file_ids, collection)
    names = Names(files, state.files.root)
    q = Question([state.files.path(f) for f in files], question, mode, names)
    reply = _Reply(req.model, names, language(request.headers))
    if req.stream:
        return _stream(request, q, reply)
    cancelled = threading.Event()
    future = state.asker.submit(q, cancelled=cancelled)
    while not future.done():
        await asyncio.wait({future}, timeout=_DISCONNECT_POLL)
        if not future.done() and await request.is_disconnected():
            cancelled.set()  # nobody will read the answer: free the model at its next token
    try:
        answer = future.result()
    except Exception as e:
        raise as_api_error(e, names) from None
    return JSONResponse(reply.completion(answer))


class _Reply:
    """Builds the OpenAI-shaped objects of one reply."""

    def __init__(self, model: str, names: Names, lang: str) -> None:
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.model = model
        self.names = names
        self.lang = lang

    def reason(self, text: str) -> str:
        """A message from the pipeline: stored names mapped to the upload's, in the client's language."""
        return translate(self.names.text(text), self.lang)

    def _base(self, obj: str) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model}

    def extras(self, answer: Answer) -> dict[str, Any]:
        citations = []
        for c in answer.citations:
            f = self.names.file(c.file)
            citations.append(
                {
                    "n": c.n,
                    "file": c.file,
                    "file_id": f.id if f else None,
                    "page": c.page,
                    "chunk_id": c.chunk_id,
                    "text": c.text,
                }
            )
        d = answer.to_dict()
        longdoc = {
            "mode": d["mode"],
            "usage": d["usage"],
            "timings": d["timings"],
            "errors": [self.reason(e) for e in d["errors"]],
            "notes": [self.names.text(n) for n in d["notes"]],
            "backend_failure": answer.backend_failure and self.reason(answer.backend_failure),
            "answer_html": answer_html(answer.answer),
        }
        u = answer.usage
        usage = {
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "total_tokens": u.prompt_tokens + u.completion_tokens,
        }
        return {"usage": usage, "citations": citations, "longdoc": longdoc}

    def completion(self, answer: Answer) -> dict[str, Any]:
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": answer.answer},
            "finish_reason": "stop",
            "logprobs": None,
        }
        return {**self._base("chat.completion"), "choices": [choice], **self.extras(answer)}

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> ServerSentEvent:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _event({**self._base("chat.completion.chunk"), "choices": [choice], **extra})


# The page splits events at blank lines written as "\n\n", as most clients do.
_SEP = "\n"


def _event(data: Any) -> ServerSentEvent:
    return ServerSentEvent(json.dumps(data, ensure_ascii=False), sep=_SEP)


def _stream(request: Request, q: Question, reply: _Reply) -> EventSourceResponse:
    state = state_of(request)
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[Event] = asyncio.Queue()
    cancelled = threading.Event()

    def emit(event: Event) -> None:
        loop.call_soon_threadsafe(events.put_nowait, event)

    # Submitted before the response starts, so "busy" or "model loading" is still an HTTP status.
    future = state.asker.submit(q, emit, cancelled)

    async def body() -> AsyncIterator[ServerSentEvent]:
        try:
            yield reply.chunk({"role": "assistant", "content": ""})
            while (event := await events.get())[0] != "end":
                kind, value = event
                if kind == "token":
                    yield reply.chunk({"content": value})
                else:
                    yield reply.chunk({}, longdoc={kind: value})
            try:
                answer = await future
            except Exception as e:
                err = as_api_error(e, q.names)
                yield _event(error_body(err.status, translate(err.message, reply.lang), err.code))
            else:
                yield reply.chunk({}, "stop", **reply.extras(answer))
            yield ServerSentEvent("[DONE]", sep=_SEP)
        finally:
            cancelled.set()  # a client that left stops the pipeline at its next token

    return EventSourceResponse(
        body(),
        headers={"Cache-Control": "no-cache"},
        sep=_SEP,
        # An SSE comment while the pipeline is quiet keeps proxies from closing the stream.
        ping=state.options.keepalive_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment="keepalive", sep=_SEP),
    )
