"""Level 3 with native function calling, against an OpenAI-style server on 127.0.0.1."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from longdoc.agents.agent import ask_agent
from longdoc.agents.context import Job, ReadSettings
from longdoc.chunk import ChunkSettings
from longdoc.index.store import IndexStore
from longdoc.llm.base import Message
from longdoc.llm.openai_compat import OpenAICompatLLM
from longdoc.tokens import EstimateCounter
from oracle import Oracle

FACT_A = "The lighthouse on Karvo Point is kept by Edda Marn."
FACT_B = "The mayor of Dunmarsh is Ilse Quorn."


class ToolServer:
    """Agent turns (requests that carry `tools`) come from a script; every other
    request (plan, reader, answer) is answered by the oracle."""

    def __init__(self, oracle, turns):
        self.turns = list(turns)
        self.tool_requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if "tools" in body:
                    outer.tool_requests.append(body)
                    message = outer.turns.pop(0)
                else:
                    msgs = [Message(m["role"], m["content"]) for m in body["messages"]]
                    message = {"role": "assistant", "content": oracle(msgs)}
                raw = json.dumps(
                    {
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def _call(id_, name, **args):
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


@pytest.fixture
def corpus(tmp_path):
    paras = [f"Paragraph {i} is about the harbour, the boats and the tides of the coast." for i in range(80)]
    paras.insert(10, FACT_A)
    paras.insert(70, FACT_B)
    f = tmp_path / "coast.txt"
    f.write_text("\n\n".join(paras))
    store = IndexStore(tmp_path / "index", EstimateCounter(), ChunkSettings(size=80, overlap=0))
    return store.corpus([store.add(f)])


def test_parallel_tool_calls_and_citations_for_each(corpus):
    turns = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                _call("c0", "think", thought="Two independent facts: ask both at once."),
                _call("c1", "search", question="Who keeps the lighthouse on Karvo Point?"),
                _call("c2", "search", question="Who is the mayor of Dunmarsh?"),
            ],
        },
        {"role": "assistant", "content": "Edda Marn keeps the light [1]; Ilse Quorn is mayor [2]."},
    ]
    server = ToolServer(Oracle({"lighthouse on Karvo Point": FACT_A, "mayor of Dunmarsh": FACT_B}), turns)
    llm = OpenAICompatLLM(server.url, "m")
    job = Job(corpus, llm, budget=600, answer_tokens=80, read=ReadSettings(enough=1, concurrency=4))
    ans = ask_agent("Who keeps the lighthouse on Karvo Point, and who is the mayor of Dunmarsh?", job)
    server.httpd.shutdown()

    assert ans.answer == "Edda Marn keeps the light [1]; Ilse Quorn is mayor [2]."
    assert [c.n for c in ans.citations] == [1, 2]
    assert FACT_A in ans.citations[0].text and FACT_B in ans.citations[1].text
    first, second = server.tool_requests
    assert {t["function"]["name"] for t in first["tools"]} == {"search", "think"}
    # the second turn carries the assistant's calls and one tool message per call, in order
    msgs = second["messages"]
    assert [c["id"] for c in msgs[2]["tool_calls"]] == ["c0", "c1", "c2"]
    tool_msgs = [m for m in msgs if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == ["c0", "c1", "c2"]
    assert "Edda Marn" in tool_msgs[1]["content"] and "[1]" in tool_msgs[1]["content"]
    assert "Ilse Quorn" in tool_msgs[2]["content"] and "[2]" in tool_msgs[2]["content"]
    assert any("2 sub-question(s)" in n for n in ans.notes)


def test_bad_tool_arguments_get_a_corrective_result(corpus):
    turns = [
        {"role": "assistant", "content": None, "tool_calls": [_call("c1", "search", query="wrong field")]},
        {"role": "assistant", "content": "The documents do not say."},
    ]
    server = ToolServer(Oracle({}), turns)
    ans = ask_agent("Who?", Job(corpus, OpenAICompatLLM(server.url, "m"), 600, 80))
    server.httpd.shutdown()
    tool_msg = [m for m in server.tool_requests[1]["messages"] if m["role"] == "tool"][0]
    assert "use search(question)" in tool_msg["content"]
    assert ans.citations == []
