"""`longdoc synth`: long-context training data written by the agent and filtered in code.

Chunks are picked across a document (`pick`), the model writes a question and
its answer from them (`write`), the full pipeline answers the question over the
whole document, and `filters` keeps an item only when that answer agrees, cites
the source, and the question needs more than the document's two ends. `run`
drives it per item and resumes; `formats` and `manifest` write what is kept;
`verify` cross-checks a QA set made by other means.
"""
