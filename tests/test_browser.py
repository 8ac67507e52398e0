"""The web page in a real browser: Debian's Chromium, driven by Playwright.

scripts/setup installs Chromium (with the dev extras); when it is missing this
test fails rather than skips, so CI cannot pass without running it.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from live_server import NEEDLE, QUESTION, haystack, reader_model, serve
from longdoc.config import Settings
from longdoc.llm.scripted import ScriptedLLM
from longdoc.server import create_app

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


def test_upload_ask_stream_and_open_a_citation(tmp_path):
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: scripts/setup installs it with the dev extras"
    ARTIFACTS.mkdir(exist_ok=True)
    doc = tmp_path / "coast.txt"
    doc.write_text(haystack(), encoding="utf-8")
    zh = tmp_path / "港口笔记.md"
    zh.write_text("# 港口\n\n港务长每年春天都会在黎明前记录运粮船的到达时间。\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")

    app = create_app(Settings(backend="scripted", home=tmp_path / "home"), llm=ScriptedLLM(reader_model))
    with serve(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 820}, locale="en-US")
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.goto(base)
            expect(page.locator("#mode option")).not_to_have_count(0)
            expect(page.locator("#mode option[value=longdoc-rag]")).to_have_text("rag: keyword search (fast)")

            page.set_input_files("#file-input", [str(doc), str(zh), str(empty)])
            expect(page.locator("#files li.file.ready")).to_have_count(2, timeout=20_000)
            expect(page.locator("#files li.file.failed .reason")).to_have_text("file is empty")
            expect(page.locator("#files")).to_contain_text("港口笔记.md")

            page.select_option("#mode", "longdoc-rag")
            # Count the answer's updates: a streamed answer arrives in pieces.
            page.evaluate("""() => {
                window.updates = 0;
                new MutationObserver(() => window.updates++).observe(
                    document.getElementById("conversation"), {subtree: true, childList: true, characterData: true});
            }""")
            page.fill("#question", QUESTION)
            page.click("#ask")
            answer = page.locator(".message.assistant .body").last
            expect(answer).to_have_text("Edda Marn keeps it [1].", timeout=20_000)
            assert page.evaluate("window.updates") >= 5
            citation = page.locator("button.citation").first
            expect(citation).to_contain_text("coast.txt")
            expect(citation).to_contain_text("Edda Marn")
            page.screenshot(path=str(ARTIFACTS / "browser-answer.png"), full_page=True)

            citation.click()
            dialog = page.locator("#passage")
            expect(dialog).to_be_visible()
            expect(page.locator("#passage-title")).to_have_text("[1] coast.txt")
            expect(page.locator("#passage-text mark")).to_have_text(NEEDLE)
            expect(page.locator("#passage-text")).to_contain_text("Paragraph 139")  # the passage around the quote
            page.screenshot(path=str(ARTIFACTS / "browser.png"), full_page=True)
            page.click("#passage-close")
            expect(dialog).to_be_hidden()

            # The [1] in the answer opens the same passage; the page speaks Chinese too.
            page.locator(".message.assistant button.marker").first.click()
            expect(page.locator("#passage-text mark")).to_have_text(NEEDLE)
            page.click("#passage-close")
            page.click("#lang")
            expect(page.locator("#ask")).to_have_text("提问")
            expect(page.locator("#mode option[value=longdoc-rag]")).to_have_text("rag：关键词检索（快）")
            expect(page.locator("#files li.file.ready .badge").first).to_have_text("就绪")
            page.screenshot(path=str(ARTIFACTS / "browser-zh.png"), full_page=True)
            assert not problems, problems
        finally:
            browser.close()
