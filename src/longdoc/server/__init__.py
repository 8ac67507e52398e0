"""`longdoc serve`: an OpenAI-compatible chat API over uploaded documents, and a
web page to upload, ask and open citations. See docs/server.md."""

from .app import create_app
from .options import ServerOptions, check_bind
from .run import run

__all__ = ["ServerOptions", "check_bind", "create_app", "run"]
