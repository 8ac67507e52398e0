"""A scripted stand-in for a model that reads well: it answers each kind of
prompt longdoc sends (plan, reader, answer, agent) from the facts it is given.
Tests use it to check the plumbing of Levels 2 and 3 without a real model."""

from __future__ import annotations

import json
import re

from longdoc.prompts import EN, ZH


class Oracle:
    def __init__(
        self,
        facts: dict[str, str],
        chain: list[str] | None = None,
        keywords: list[str] | None = None,
        expansions: dict[str, list[str]] | None = None,
        values: dict[str, str] | None = None,
        final: str | None = None,
        restate: str = "",
    ):
        self.facts = facts  # sub-question keyword -> fact sentence planted in the documents
        self.chain = list(chain or [])  # Level 3: each "next question" reply in turn, then DONE
        self.values = values or {}  # sub-question keyword -> the short value a hop answer gives
        self.final = final  # Level 3: the composed answer, given when every fact it needs was passed
        self.keywords = keywords or []
        self.expansions = expansions or {}  # Level 2: question phrase -> other words for it
        self.reads = 0
        self.restate = restate  # the planner's restatement of the question ("": the question itself)

    def __call__(self, messages) -> str:
        system, user = messages[0].content, messages[-1].content
        if system in (EN.query_system, ZH.query_system):
            q = (
                user.rsplit("Question:", 1)[-1]
                .rsplit("问题：", 1)[-1]
                .replace("Reply:", "")
                .replace("回答：", "")
                .strip()
            )
            return json.dumps(
                {"information": self.restate or q, "instruction": "", "keywords_en": self.keywords, "keywords_zh": []},
                ensure_ascii=False,  # as a model writes it: escapes would overrun the plan's token cap
            )
        if system in (EN.expand_system, ZH.expand_system):
            return "\n".join(f"{phrase}: {', '.join(words)}" for phrase, words in self.expansions.items())
        if system in (EN.reader_system, ZH.reader_system):
            self.reads += 1
            # The prompt opens with a worked example: the real passage and question come last.
            passage = user.rsplit("Passage:\n", 1)[-1].rsplit("段落：\n", 1)[-1].rsplit("\n\n", 1)[0]
            question = user.rsplit("Passage:\n", 1)[0].rsplit("段落：\n", 1)[0].strip().rsplit("\n", 1)[-1]
            for key, fact in self.facts.items():
                if key.lower() in question.lower() and fact in passage:
                    return fact
            return "none"
        if system in (EN.compose_system, ZH.compose_system):
            if self.final and all(f in user for f in self.facts.values()):
                return self.final
            system = EN.answer_system  # otherwise answer from the facts given, as Level 1 would
        if system in (EN.answer_system, ZH.answer_system):
            question = user.rsplit("Question:", 1)[-1]
            for key, fact in self.facts.items():
                if (
                    key.lower() in question.lower()
                    and fact in user
                    and key in self.values
                    and EN.hop_instruction in user
                ):
                    n = re.findall(r"\[(\d+)\][^\[]*" + re.escape(fact), user)
                    return f"{self.values[key]} [{n[0] if n else 1}]"
                if key.lower() in question.lower() and fact in user:
                    n = re.findall(r"\[(\d+)\][^\[]*" + re.escape(fact), user)
                    return f"{fact} [{n[0] if n else 1}]"
            return EN.not_found
        if system in (EN.next_system, ZH.next_system):
            return self.chain.pop(0) if self.chain else "DONE"
        raise AssertionError(f"unexpected prompt: {system[:60]}")
