"""A page on another site, in real Chromium, tries to plant a file on and ask a
longdoc server without a token: cross-origin fetches, a form in a sandboxed
iframe (which sends `Origin: null`), a text/plain "JSON" post. None of it may
reach the routes: afterwards the server holds no file and the model was never
called."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from playwright.sync_api import sync_playwright

from live_server import reader_model, serve
from longdoc.config import Settings
from longdoc.llm.scripted import ScriptedLLM
from longdoc.server import create_app
from test_browser import ARGS, CHROMIUM

CHAT = '{"model": "longdoc-rag", "messages": [{"role": "user", "content": "Who keeps the lighthouse?"}]}'


def _attack_page(target: str) -> bytes:
    form = f"""
      <form id="f" method="POST" enctype="multipart/form-data" action="{target}/v1/files">
        <input type="file" name="file" id="file"></form>
      <script>
        const dt = new DataTransfer();
        dt.items.add(new File(["planted by a sandboxed frame"], "planted-frame.txt", {{type: "text/plain"}}));
        document.getElementById("file").files = dt.files;
        fetch("{target}/v1/files", {{method: "POST", mode: "no-cors",
              body: (() => {{ const d = new FormData(); d.append("file", new Blob(["x"]), "planted-null.txt"); return d; }})()}})
          .finally(() => document.getElementById("f").submit());
      </script>"""
    frame = form.replace('"', "&quot;")
    return f"""<!doctype html><html><body>
      <iframe sandbox="allow-scripts allow-forms" srcdoc="{frame}"></iframe>
      <script>
        const data = new FormData();
        data.append("file", new Blob(["planted by a foreign page"]), "planted-fetch.txt");
        const tries = [
          fetch("{target}/v1/files", {{method: "POST", mode: "no-cors", body: data}}),
          fetch("{target}/v1/chat/completions", {{method: "POST", mode: "no-cors",
                headers: {{"Content-Type": "text/plain"}}, body: {CHAT!r}}}),
          fetch("{target}/v1/chat/completions", {{method: "POST", body: {CHAT!r},
                headers: {{"Content-Type": "application/json"}}}}),
        ];
        Promise.allSettled(tries).then(() => setTimeout(() => {{ window.done = true; }}, 1500));
      </script></body></html>""".encode()


def test_a_foreign_page_can_neither_upload_nor_ask(tmp_path):
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: scripts/setup installs it with the dev extras"
    llm = ScriptedLLM(reader_model)
    app = create_app(Settings(backend="scripted", home=tmp_path / "home"), llm=llm)
    with serve(app) as base:
        page_bytes = _attack_page(base)
        seen: list[str] = []

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page_bytes)

            def log_message(self, *args: object) -> None:
                seen.append(self.path)

        foreign = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=foreign.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
                try:
                    # "localhost" and "127.0.0.1" are different sites to the browser.
                    page = browser.new_page()
                    page.goto(f"http://localhost:{foreign.server_address[1]}/attack.html")
                    page.wait_for_function("window.done === true", timeout=20_000)
                finally:
                    browser.close()
        finally:
            foreign.shutdown()
        assert seen, "the attack page was never loaded"
        assert httpx.get(f"{base}/v1/files").json()["data"] == []
        assert llm.calls == []
