"""Small corpora for the level tests: paragraphs written to a file and indexed
with the scripted LLM's counter, so chunk sizes are the same in every test."""

from longdoc.chunk import ChunkSettings
from longdoc.index.store import IndexStore
from longdoc.llm.scripted import ScriptedLLM


def corpus_of(tmp_path, paragraphs, name="coast.txt", size=96):
    f = tmp_path / name
    f.write_text("\n\n".join(paragraphs))
    store = IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=size, overlap=0))
    return store.corpus([store.add(f)])
