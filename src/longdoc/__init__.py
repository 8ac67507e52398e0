"""longdoc: answer questions over very long documents with a small-context LLM."""

__version__ = "0.1.0"
