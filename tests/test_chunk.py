from longdoc.chunk import ChunkSettings, chunk_document
from longdoc.records import Block, Document, full_text
from longdoc.tokens import EstimateCounter


def _doc(paragraphs, pages=None):
    blocks, pos = [], 0
    for i, p in enumerate(paragraphs):
        blocks.append(Block(text=p, page=pages[i] if pages else None, heading=("H",), start=pos, end=pos + len(p)))
        pos += len(p) + 2
    return Document(path="d.txt", name="d.txt", sha256="f" * 64, blocks=blocks)


def _check_invariants(doc, chunks, size):
    text = full_text(doc.blocks)
    counter = EstimateCounter()
    for c in chunks:
        assert text[c.start : c.end] == c.text
        # the stored count is a close upper bound of an exact recount
        assert counter.count(c.text) <= c.tokens <= size
    # every character of the document lies in some chunk
    covered = sorted((c.start, c.end) for c in chunks)
    assert covered[0][0] == 0 and covered[-1][1] == len(text)
    for (_, a1), (b0, _) in zip(covered, covered[1:]):
        assert b0 <= a1 + 2, "gap between chunks"


def test_english_paragraphs_pack_under_the_limit():
    paras = [f"Sentence number {i} talks about the weather. It was cold." for i in range(300)]
    doc = _doc(paras)
    chunks = chunk_document(doc, EstimateCounter(), ChunkSettings(size=128, overlap=16))
    assert len(chunks) > 10
    _check_invariants(doc, chunks, 128)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[3].id == "ffffffffff:3"


def test_long_paragraph_is_cut_at_sentence_ends():
    para = " ".join(f"This is sentence {i} of a very long paragraph." for i in range(200))
    doc = _doc([para])
    chunks = chunk_document(doc, EstimateCounter(), ChunkSettings(size=100, overlap=20))
    _check_invariants(doc, chunks, 100)
    for c in chunks[:-1]:
        assert c.text.rstrip().endswith(".")


def test_chinese_text_without_spaces_is_cut_at_chinese_marks():
    para = "".join(f"第{i}句话讲的是长城的历史。" for i in range(300))
    doc = _doc([para])
    chunks = chunk_document(doc, EstimateCounter(), ChunkSettings(size=120, overlap=20))
    _check_invariants(doc, chunks, 120)
    assert all(c.text.endswith("。") for c in chunks[:-1])


def test_unbroken_text_is_hard_split():
    doc = _doc(["x" * 20000])
    chunks = chunk_document(doc, EstimateCounter(), ChunkSettings(size=200, overlap=0))
    _check_invariants(doc, chunks, 200)


def test_overlap_repeats_the_previous_sentence():
    para = " ".join(f"Fact {i} is here." for i in range(100))
    doc = _doc([para])
    chunks = chunk_document(doc, EstimateCounter(), ChunkSettings(size=60, overlap=12))
    assert chunks[1].start < chunks[0].end  # overlapping spans


def test_pages_are_kept():
    doc = _doc(["alpha " * 50, "beta " * 50, "gamma " * 50], pages=[1, 2, 3])
    chunks = chunk_document(doc, EstimateCounter(), ChunkSettings(size=80, overlap=0))
    assert [c.page for c in chunks] == [1, 2, 3]
    big = chunk_document(doc, EstimateCounter(), ChunkSettings(size=512, overlap=0))
    assert (big[0].page, big[0].page_end) == (1, 3)
