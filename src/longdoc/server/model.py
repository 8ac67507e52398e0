"""The one LLM a server uses, loaded in the background so the server answers
health checks (and accepts uploads) while the weights load."""

from __future__ import annotations

import logging
import threading

from ..api import llm_from_settings
from ..config import Settings
from ..errors import LongdocError, ModelError
from ..llm.base import LLM
from ..tokens import TokenCounter
from .errors import ApiError

log = logging.getLogger("longdoc.server")


class ModelHolder:
    def __init__(self, settings: Settings, llm: LLM | None = None) -> None:
        self._settings = settings
        self._llm = llm
        self._error: str | None = None
        self._created = threading.Event()  # the LLM object exists (or could not be made)
        self._ready = threading.Event()  # ... and its weights are loaded
        if llm is not None:
            self._created.set()

    def start(self) -> None:
        threading.Thread(target=self._load, name="longdoc-model", daemon=True).start()

    def _load(self) -> None:
        try:
            if self._llm is None:
                self._llm = llm_from_settings(self._settings)
            self._created.set()
            self._llm.load()  # the embedded backend would otherwise load at the first question
        except LongdocError as e:
            self._error = str(e)
        except Exception as e:
            log.exception("loading the model failed")
            self._error = f"{type(e).__name__}: {e}"
        finally:
            self._created.set()
            self._ready.set()

    @property
    def name(self) -> str:
        return self._llm.name if self._llm is not None else self._settings.model

    @property
    def status(self) -> str:
        if not self._ready.is_set():
            return "loading"
        return "failed" if self._error else "ready"

    @property
    def error(self) -> str | None:
        return self._error

    def get(self) -> LLM:
        if self.status == "loading":
            raise ApiError(503, "the model is still loading: try again in a few seconds", code="model_loading")
        if self._llm is None or self._error:
            raise ApiError(503, f"the model could not be loaded: {self._error}", code="model_failed")
        return self._llm

    def counter(self) -> TokenCounter:
        """The tokenizer chunks are measured with; the same one `api.ask` uses
        (`llm.token_counter()`), so uploads and questions share index entries."""
        self._created.wait()
        if self._llm is None:
            raise ModelError(f"the model could not be loaded: {self._error}")
        return self._llm.token_counter()
