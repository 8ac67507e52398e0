"""A citation names the page of the quoted sentence, and the file by the
shortest path that tells same-named files apart."""

from __future__ import annotations

import json
from pathlib import Path

from longdoc import api
from longdoc.agents.context import Job
from longdoc.agents.rag import ask_rag
from longdoc.chunk import ChunkSettings
from longdoc.citations import is_not_found, quote_page
from longdoc.config import Settings
from longdoc.index.store import IndexStore
from longdoc.llm.scripted import ScriptedLLM
from longdoc.names import display_names
from longdoc.prompts import EN, ZH
from longdoc.records import Chunk
from test_parse import make_pdf

FACT = "The harbour master Ilse Varga logged the grain ships on the twenty third page."
QUESTION = "Who logged the grain ships?"


def _plan(*keywords: str) -> str:
    return json.dumps({"information": QUESTION, "instruction": "", "keywords_en": list(keywords), "keywords_zh": []})


def _replies(plan: str, answer: str):
    """The plan when Level 1 asks for one (it need not: the question's words may single out the fact), else the answer."""
    return lambda messages: plan if messages[0].content == EN.query_system else answer


def _store(tmp_path: Path, size: int) -> IndexStore:
    return IndexStore(tmp_path / "index", ScriptedLLM([]).token_counter(), ChunkSettings(size=size, overlap=0))


def _page_text(n: int) -> str:
    return f"Page {n} describes the quay, the cranes and the warehouses along the river."


def test_a_fact_on_page_23_is_cited_as_page_23_though_its_chunk_begins_on_22(tmp_path):
    pages = [[_page_text(n)] for n in range(1, 41)]
    pages[22].append(FACT)  # page 23
    pdf = tmp_path / "harbour.pdf"
    pdf.write_bytes(make_pdf(pages))
    store = _store(tmp_path, size=60)  # two or three pages a chunk
    doc = store.add(pdf)
    holding = next(c for c in doc.chunks if FACT in c.text.replace("\n", " "))
    assert holding.page < 23 and holding.page_end >= 23  # the chunk begins before the fact's page
    llm = ScriptedLLM(_replies(_plan("grain ships", "harbour master"), "Ilse Varga logged them [1]."))
    ans = ask_rag(QUESTION, Job(store.corpus([doc]), llm, 1000, 60))
    assert ans.citations[0].chunk_id == holding.id
    assert ans.citations[0].page == 23
    assert "Ilse Varga" in ans.citations[0].text


def test_slides_are_resolved_the_same_way(tmp_path):
    import pptx

    prs = pptx.Presentation()
    for n in range(1, 7):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = f"Slide {n}"
        slide.placeholders[1].text = FACT if n == 4 else _page_text(n)
    path = tmp_path / "deck.pptx"
    prs.save(str(path))
    store = _store(tmp_path, size=100)  # slides 1-4 in one chunk
    doc = store.add(path)
    holding = next(c for c in doc.chunks if FACT in c.text)
    assert holding.page < 4
    llm = ScriptedLLM(_replies(_plan("grain ships"), "Ilse Varga [1]."))
    ans = ask_rag(QUESTION, Job(store.corpus([doc]), llm, 1000, 60))
    assert ans.citations[0].page == 4


def test_quote_page_reads_the_page_breaks_of_a_chunk():
    text = "First page line.\n\nSecond page line.\n\nThird page\nline with a break."
    c = Chunk("x:0", "d.pdf", 0, text, 20, page=7, page_end=9, page_breaks=((18, 8), (37, 9)))
    assert quote_page(c, "First page line.") == 7
    assert quote_page(c, "Second page line.") == 8
    assert quote_page(c, "Third page line with a break.") == 9  # line breaks rejoined in the quote
    assert quote_page(c, "Not in the chunk at all.") == 7
    assert Chunk.from_dict(c.to_dict()) == c


def test_shortest_distinguishing_paths():
    assert display_names(["/w/a/notes.md", "/w/b/notes.md", "/w/c.md"]) == ["a/notes.md", "b/notes.md", "c.md"]
    assert display_names(["/w/x/a/n.md", "/w/y/a/n.md"]) == ["x/a/n.md", "y/a/n.md"]
    assert display_names(["notes.md", "notes.md"]) == ["notes.md", "notes.md (2)"]
    assert display_names(["docs\\guide.md"]) == ["guide.md"]


def test_same_named_files_are_cited_and_shown_to_the_model_by_their_distinct_paths(tmp_path):
    for folder, keeper in (("north", "Ilse Varga"), ("south", "Osk Tarrow")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "notes.md").write_text(
            f"# Notes\n\nThe {folder} harbour master {keeper} logged the grain ships.\n", encoding="utf-8"
        )
    llm = ScriptedLLM([_plan("grain ships", "harbour master"), "Ilse Varga [1] and Osk Tarrow [2]."])
    paths = [tmp_path / "north" / "notes.md", tmp_path / "south" / "notes.md"]
    ans = api.ask(paths, QUESTION, Settings(backend="scripted", home=tmp_path / "home"), mode="rag", llm=llm)
    assert sorted(c.file for c in ans.citations) == ["north/notes.md", "south/notes.md"]
    prompt = llm.calls[1].messages[-1].content
    assert "(north/notes.md)" in prompt and "(south/notes.md)" in prompt


def test_a_not_found_reply_counts_whatever_follows_it():
    searched = EN.not_found + " (searched 530 passages for: " + ", ".join(f"keyword {i}" for i in range(40)) + ")"
    assert len(searched) > 200 and is_not_found(searched, EN)
    assert is_not_found(ZH.not_found + "（检索了 530 个段落：" + "、".join(f"关键词{i}" for i in range(40)) + "）", ZH)
    long_answer = (
        "The documents do not say when exactly, but the keeper's log kept on the quay at Karvo Point "
        "shows that she first lit the lamp in the spring of 1931 [1]."
    )
    assert not is_not_found(long_answer, EN)  # it opens that way and then answers, citing
    assert not is_not_found("Edda Marn keeps it. " * 10 + "The documents do not say more.", EN)
