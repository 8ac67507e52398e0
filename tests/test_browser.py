"""The web page in a real browser: Debian's Chromium, driven by Playwright.

scripts/setup installs Chromium (with the dev extras); when it is missing these
tests fail rather than skip, so CI cannot pass without running them.
Screenshots of each state, desktop and phone, English and Chinese, go to
test-artifacts/ (docs/img/ keeps copies for the README).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from live_server import NEEDLE, QUESTION, haystack, reader_model, serve
from longdoc.config import Settings
from longdoc.llm.scripted import ScriptedLLM
from longdoc.prompts import EN
from longdoc.server import create_app
from test_parse import make_pdf

CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download does not work here; these keep Debian's
# Chromium headless, sandbox-free (containers) and off the network.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DESKTOP = {"width": 1280, "height": 820}
PHONE = {"width": 390, "height": 844}
LIST_QUESTION = "List what the documents say about Karvo Point"
MARKDOWN = "What the documents say:\n\n- **Edda Marn** keeps the lighthouse [1]\n- she first lit it in 1931 [1]"


def model(messages):
    """reader_model, and a Markdown list for LIST_QUESTION."""
    if (
        messages[0].content == EN.answer_system
        and "List what" in messages[-1].content
        and "Edda Marn" in messages[-1].content
    ):
        return MARKDOWN
    return reader_model(messages)


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: scripts/setup installs it with the dev extras"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    app = create_app(Settings(backend="scripted", home=tmp_path_factory.mktemp("home")), llm=ScriptedLLM(model))
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    d = tmp_path_factory.mktemp("docs")
    (d / "coast.txt").write_text(haystack(), encoding="utf-8")
    (d / "港口笔记.md").write_text("# 港口\n\n港务长每年春天都会在黎明前记录运粮船的到达时间。\n", encoding="utf-8")
    (d / "empty.txt").write_bytes(b"")
    pages = [[f"Page {n} is about the cranes, the quay and the warehouses by the river."] for n in range(1, 5)]
    pages[2].append(NEEDLE)
    (d / "ledger.pdf").write_bytes(make_pdf(pages))
    return d


class Session:
    """One browser context (its own storage) on the server, failing the test on any page error."""

    def __init__(self, browser, base, viewport=DESKTOP, lang="en"):
        self.context = browser.new_context(viewport=viewport, locale="zh-CN" if lang == "zh" else "en-US")
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("console", lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("dialog", lambda d: d.accept())  # confirm() for deletions
        self.page.goto(base)
        expect(self.page.locator("#mode option")).not_to_have_count(0)
        self.lang = lang
        self.device = "phone" if viewport == PHONE else "desktop"

    def shot(self, state: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"page-{state}-{self.device}-{self.lang}.png"), full_page=True)

    def ask(self, question: str) -> None:
        self.page.fill("#question", question)
        self.page.click("#ask")

    def no_horizontal_overflow(self, where: str) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.page.viewport_size["width"], f"{where}: the page is {width}px wide"

    def close(self) -> None:
        problems = [p for p in self.problems if "Failed to load resource" not in p]
        self.context.close()
        assert not problems, problems


def _upload(s: Session, *paths: Path) -> None:
    """Upload and wait until each is indexed (the server may already have it: one module-wide server)."""
    s.page.set_input_files("#file-input", [str(p) for p in paths])
    for p in paths:
        state = "failed" if p.stat().st_size == 0 else "ready"
        expect(s.page.locator(f"#files li.file.{state}", has_text=p.name)).to_have_count(1, timeout=20_000)


def test_upload_ask_stream_and_open_a_citation(browser, base, docs):
    s = Session(browser, base)
    page = s.page
    expect(page.locator("#mode option[value=longdoc-rag]")).to_have_text("rag: keyword search (fast)")
    s.shot("start")
    _upload(s, docs / "coast.txt", docs / "港口笔记.md", docs / "empty.txt")
    expect(page.locator("#files li.file.failed .reason")).to_have_text("file is empty")
    expect(page.locator("#files")).to_contain_text("港口笔记.md")

    page.select_option("#mode", "longdoc-rag")
    # Count the answer's updates: a streamed answer arrives in pieces.
    page.evaluate("""() => {
        window.updates = 0;
        new MutationObserver(() => window.updates++).observe(
            document.getElementById("conversation"), {subtree: true, childList: true, characterData: true});
    }""")
    s.ask(QUESTION)
    answer = page.locator(".message.assistant .body").last
    expect(answer).to_have_text("Edda Marn keeps it [1].", timeout=20_000)
    assert page.evaluate("window.updates") >= 5
    citation = page.locator("button.citation").first
    expect(citation).to_contain_text("coast.txt")
    expect(citation).to_contain_text("Edda Marn")
    s.shot("answer")

    citation.click()
    expect(page.locator("#passage")).to_be_visible()
    expect(page.locator("#passage-title")).to_have_text("[1] coast.txt")
    expect(page.locator("#passage-text mark")).to_have_text(NEEDLE)
    expect(page.locator("#passage-text")).to_contain_text("Paragraph 139")  # the passage around the quote
    expect(page.locator("#passage-tabs")).to_be_hidden()  # text files have no page to show
    s.shot("passage")
    page.click("#passage-close")
    expect(page.locator("#passage")).to_be_hidden()

    # The [1] in the answer opens the same passage; Markdown answers come as lists.
    page.locator(".message.assistant button.marker").first.click()
    expect(page.locator("#passage-text mark")).to_have_text(NEEDLE)
    page.click("#passage-close")
    s.ask(LIST_QUESTION)
    items = page.locator(".message.assistant").last.locator(".body.md li")
    expect(items).to_have_count(2, timeout=20_000)
    expect(items.first.locator("strong")).to_have_text("Edda Marn")
    expect(items.first.locator("button.marker")).to_have_text("1")

    # The page and the server's reasons speak Chinese too.
    page.click("#lang")
    expect(page.locator("#ask")).to_have_text("提问")
    expect(page.locator("#mode option[value=longdoc-rag]")).to_have_text("rag：关键词检索（快）")
    expect(page.locator("#files li.file.ready .badge").first).to_have_text("就绪")
    expect(page.locator("#files li.file.failed .reason")).to_have_text("文件是空的")
    s.lang = "zh"
    s.shot("answer")
    s.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_phone_gets_the_whole_page_without_sideways_scrolling(browser, base, docs, lang):
    s = Session(browser, base, viewport=PHONE, lang=lang)
    page = s.page
    if lang == "zh":
        page.click("#lang") if page.locator("#ask").inner_text() != "提问" else None
        expect(page.locator("#ask")).to_have_text("提问")
        # The tagline keeps whole lines: not one character per line.
        tagline = page.locator(".tagline").bounding_box()
        assert tagline["width"] > 150 and tagline["height"] < 50, tagline
    s.no_horizontal_overflow("start")
    s.shot("start")
    _upload(s, docs / "coast.txt")
    page.select_option("#mode", "longdoc-rag")
    s.ask(QUESTION)
    expect(page.locator("button.citation").first).to_be_visible(timeout=20_000)
    s.no_horizontal_overflow("answer")
    s.shot("answer")
    page.locator("button.citation").first.click()
    expect(page.locator("#passage-text mark")).to_have_text(NEEDLE)
    close = page.locator("#passage-close").bounding_box()
    assert close["x"] >= 0 and close["x"] + close["width"] <= PHONE["width"], close
    dialog = page.locator("#passage").bounding_box()
    assert dialog["x"] >= 0 and dialog["x"] + dialog["width"] <= PHONE["width"], dialog
    s.no_horizontal_overflow("passage")
    s.shot("passage")
    s.close()


def test_a_pdf_citation_shows_its_page_with_the_quote_highlighted(browser, base, docs):
    s = Session(browser, base)
    page = s.page
    _upload(s, docs / "ledger.pdf")
    for other in page.locator("#files li.file").all():  # ask the PDF alone
        if "ledger.pdf" not in other.inner_text():
            other.locator("input[type=checkbox]").uncheck()
    page.select_option("#mode", "longdoc-rag")
    s.ask(QUESTION)
    citation = page.locator("button.citation").first
    expect(citation).to_contain_text("ledger.pdf · page 3", timeout=20_000)
    citation.click()
    expect(page.locator("#passage-tabs")).to_be_visible()
    image = page.locator("#page-frame img")
    expect(image).to_be_visible(timeout=20_000)
    page.wait_for_function("document.querySelector('#page-frame img').naturalWidth > 0")
    hits = page.locator("#page-frame .hit")
    expect(hits.first).to_be_visible()
    frame, hit = page.locator("#page-frame").bounding_box(), hits.first.bounding_box()
    assert frame["y"] <= hit["y"] and hit["y"] + hit["height"] <= frame["y"] + frame["height"], (frame, hit)
    assert hit["width"] > 50 and hit["height"] > 5
    expect(page.locator("#page-note")).to_have_text("The quoted sentence is highlighted on page 3.")
    s.shot("pdf-page")
    page.click("#tab-text")
    expect(page.locator("#passage-text mark")).to_have_text(NEEDLE)
    s.close()


def test_conversations_survive_a_reload_and_can_be_deleted(browser, base, docs):
    s = Session(browser, base)
    page = s.page
    _upload(s, docs / "coast.txt")
    page.select_option("#mode", "longdoc-rag")
    s.ask(QUESTION)
    expect(page.locator(".message.assistant .body").last).to_contain_text("Edda Marn keeps it", timeout=20_000)
    s.ask("When did she first light it?")  # a follow-up: the earlier turn goes with it
    expect(page.locator(".message.assistant .body").last).to_contain_text("She first lit it in 1931", timeout=20_000)
    page.click("#new-chat")
    expect(page.locator(".message")).to_have_count(0)
    page.reload()
    chats = page.locator("#chat-list li")
    expect(chats).to_have_count(1)
    expect(chats.first).to_contain_text(QUESTION)
    expect(page.locator(".message")).to_have_count(0)  # the new, empty conversation is still the one shown
    chats.first.locator("button.open").click()
    expect(page.locator(".message.assistant")).to_have_count(2)
    expect(page.locator(".message.assistant .body").last).to_have_text("She first lit it in 1931 [1].")
    page.locator(".message.assistant button.marker").first.click()  # stored citations still open
    expect(page.locator("#passage-text mark")).to_have_text(NEEDLE)
    page.click("#passage-close")
    s.shot("conversations")
    chats.first.locator("button.ghost").click()
    expect(chats).to_have_count(0)
    expect(page.locator(".message")).to_have_count(0)
    page.reload()
    expect(page.locator("#chat-list li")).to_have_count(0)
    s.close()


def test_collections_group_documents_and_are_asked_as_one(browser, base, docs, tmp_path):
    s = Session(browser, base)
    page = s.page
    page.click("#collection-new")
    page.fill("#collection-name", "Harbour")
    page.click("#collection-form button[type=submit]")
    expect(page.locator("#collection option:checked")).to_have_text("Harbour (0)")
    expect(page.locator("#scope")).to_contain_text("every ready document in Harbour")
    north = tmp_path / "north.md"
    north.write_text(f"# North\n\n{NEEDLE}\n", encoding="utf-8")
    _upload(s, north)  # uploads join the collection shown
    expect(page.locator("#collection option:checked")).to_have_text("Harbour (1)")
    page.select_option("#mode", "longdoc-rag")
    s.ask(QUESTION)
    expect(page.locator("button.citation").first).to_contain_text("north.md", timeout=20_000)
    s.shot("collection")
    page.select_option("#collection", "")  # all documents: the collection's file is there too
    expect(page.locator("#files")).to_contain_text("north.md")
    page.select_option("#collection", label="Harbour (1)")
    page.click("#collection-delete")
    expect(page.locator("#collection option")).to_have_count(1)
    expect(page.locator("#files")).to_contain_text("north.md")  # its documents stay
    s.close()


def test_a_folder_upload_adds_its_documents_and_lists_what_it_skipped(browser, base, tmp_path):
    folder = tmp_path / "harbours"
    (folder / "north").mkdir(parents=True)
    (folder / "south").mkdir()
    (folder / "north" / "notes.md").write_text("# North\n\nThe north quay has four cranes.\n", encoding="utf-8")
    (folder / "south" / "notes.md").write_text("# South\n\nThe south quay has two cranes.\n", encoding="utf-8")
    (folder / "south" / "map.png").write_bytes(b"\x89PNG not really")
    s = Session(browser, base)
    page = s.page
    page.set_input_files("#folder-input", str(folder))
    expect(page.locator("#notice")).to_contain_text("Skipped 1 file(s)")
    expect(page.locator("#notice")).to_contain_text("harbours/south/map.png")
    rows = page.locator("#files li.file", has_text="notes.md")
    expect(rows).to_have_count(2, timeout=20_000)
    expect(rows.locator(".file-meta", has_text="harbours/north")).to_have_count(1)  # where each came from
    expect(rows.locator(".file-meta", has_text="harbours/south")).to_have_count(1)
    # The same folder again: nothing is stored twice, and the page says so, for each file.
    page.set_input_files("#folder-input", str(folder))
    expect(page.locator("#notice")).to_contain_text("harbours/north/notes.md is already uploaded")
    expect(page.locator("#notice")).to_contain_text("harbours/south/notes.md is already uploaded")
    expect(page.locator("#notice")).to_contain_text("Skipped 1 file(s)")
    expect(rows).to_have_count(2)
    s.shot("folder")
    s.close()


def test_an_unreachable_server_keeps_the_question_and_offers_a_retry(browser, base, docs):
    s = Session(browser, base)
    page = s.page
    _upload(s, docs / "coast.txt")
    page.select_option("#mode", "longdoc-rag")
    page.route("**/v1/chat/completions", lambda route: route.abort("connectionrefused"))
    s.ask(QUESTION)
    expect(page.locator("#error-text")).to_contain_text("Cannot reach the server")
    expect(page.locator("#question")).to_have_value(QUESTION)
    expect(page.locator(".message")).to_have_count(0)
    s.shot("unreachable")
    page.unroute("**/v1/chat/completions")
    page.click("#error-retry")
    expect(page.locator(".message.assistant .body").last).to_contain_text("Edda Marn keeps it", timeout=20_000)
    expect(page.locator("#error")).to_be_hidden()
    s.problems = [p for p in s.problems if "ERR_CONNECTION_REFUSED" not in p]
    s.close()


class SlowToLoad(ScriptedLLM):
    """A model whose weights take until `loaded` is set."""

    def __init__(self) -> None:
        super().__init__(reader_model)
        self.loaded = threading.Event()

    def load(self) -> None:
        self.loaded.wait(60)


def test_while_the_model_loads_the_page_says_so_and_waits(browser, tmp_path):
    llm = SlowToLoad()
    app = create_app(Settings(backend="scripted", home=tmp_path / "home"), llm=llm)
    with serve(app, wait_ready=False) as url:
        s = Session(browser, url)
        page = s.page
        expect(page.locator("#status")).to_contain_text("The model is loading")
        expect(page.locator("#ask")).to_be_disabled()
        s.shot("loading")
        llm.loaded.set()
        expect(page.locator("#status")).to_be_hidden(timeout=10_000)
        expect(page.locator("#ask")).to_be_enabled()
        s.close()
