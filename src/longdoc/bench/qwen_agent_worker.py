"""Answer one question with Qwen-Agent. Runs inside the Qwen-Agent virtual
environment (executed by path, never imported by longdoc), so it imports
nothing from longdoc.

Usage: python qwen_agent_worker.py '<json job>'
  job: {"agent": "assistant"|"parallel", "question", "file", "base_url", "model",
        "max_input_tokens", "max_tokens", "max_ref_tokens"}
Prints one JSON line last: {"answer": ...} or {"error": ...}.
"""

import json
import sys


def main() -> None:
    job = json.loads(sys.argv[1])
    llm = {
        "model": job["model"],
        "model_server": job["base_url"],
        "api_key": "EMPTY",
        "generate_cfg": {"max_input_tokens": job["max_input_tokens"], "max_tokens": job["max_tokens"]},
    }
    if job["agent"] == "parallel":
        from qwen_agent.agents.doc_qa import ParallelDocQA

        bot = ParallelDocQA(llm=llm)
    else:
        from qwen_agent.agents import Assistant

        # Its default RAG budget (20,000 tokens) assumes a 32k model.
        bot = Assistant(llm=llm, rag_cfg={"max_ref_token": job["max_ref_tokens"]})
    messages = [{"role": "user", "content": [{"text": job["question"]}, {"file": job["file"]}]}]
    replies = list(bot.run(messages))  # each is the reply so far; the last is the whole of it
    last = replies[-1] if replies else []
    answer = "".join(m["content"] for m in last if m.get("role") == "assistant" and isinstance(m.get("content"), str))
    print(json.dumps({"answer": answer}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the runner records it against the item and carries on
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
