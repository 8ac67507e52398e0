"""Prompt size estimates for backends without the model's own tokenizer."""

from __future__ import annotations

from longdoc.llm.base import Message
from longdoc.tokens import TokenCounter

# ChatML wraps each message as "<|im_start|>role\n ... <|im_end|>\n" (5 tokens
# around the content) and the reply opens with "<|im_start|>assistant\n" (3).
# Other chat templates are in the same range.
MESSAGE_OVERHEAD_TOKENS = 5
REPLY_PRIMER_TOKENS = 3


def estimate_prompt_tokens(messages: list[Message], counter: TokenCounter) -> int:
    """Tokens a chat prompt takes: message contents plus template framing."""
    framing = MESSAGE_OVERHEAD_TOKENS * len(messages) + REPLY_PRIMER_TOKENS
    return framing + sum(counter.count(m.content) for m in messages)
