"""LLM backends behind one interface (see `base.py`), and the table of them (`backends.py`)."""

from longdoc.llm.backends import BACKENDS, DEFAULT_BACKEND, Backend, BackendOptions, backend_named, make_llm
from longdoc.llm.base import LLM, Completion, GenerationOptions, Message, OnToken

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "LLM",
    "Backend",
    "BackendOptions",
    "Completion",
    "GenerationOptions",
    "Message",
    "OnToken",
    "backend_named",
    "make_llm",
]
