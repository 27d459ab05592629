"""What a receipt's request asked, read as the node reads it (node/questions.py, the mirror's
original), and the node's serving rules a validator assumes by default."""

from __future__ import annotations

import pytest

from tessera._errors import InputError
from tessera._node import wire
from tessera._node.config import NodeConfig
from tessera._node.questions import from_chat, from_completion
from tessera._validator.terms import NodeTerms, asked

CONFIG = NodeConfig()
TERMS = NodeTerms(
    1, 4, CONFIG.top_k, CONFIG.stop, CONFIG.default_max_tokens, CONFIG.max_tokens_limit
)
MODEL = CONFIG.model_id

CHATS = {
    "plain": {"messages": [{"role": "user", "content": "Who?"}]},
    "last-user": {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "First?"},
            {"role": "assistant", "content": "One."},
            {"role": "user", "content": "Second?"},
        ]
    },
    "parts": {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Wh"}, {"type": "text", "text": "o?"}],
            }
        ]
    },
    "budget": {"messages": [{"role": "user", "content": "Who?"}], "max_tokens": 5},
    "completion-budget": {
        "messages": [{"role": "user", "content": "Who?"}],
        "max_tokens": 5,
        "max_completion_tokens": 7,
    },
    "over-limit": {"messages": [{"role": "user", "content": "Who?"}], "max_tokens": 10_000},
    "one-stop": {"messages": [{"role": "user", "content": "Who?"}], "stop": "."},
    "stops": {"messages": [{"role": "user", "content": "Who?"}], "stop": ["\n", ";", "."]},
    "ignore-eos": {"messages": [{"role": "user", "content": "Who?"}], "ignore_eos": True},
}
COMPLETIONS = {
    "string": {"prompt": "The capital of France is"},
    "list": {"prompt": ["The capital of France is"], "stop": ["."], "max_tokens": 3},
}


def test_a_validator_assumes_the_nodes_defaults():
    defaults = NodeTerms(0, 0)
    assert (defaults.top_k, defaults.stop) == (CONFIG.top_k, CONFIG.stop)
    assert defaults.default_max_tokens == CONFIG.default_max_tokens
    assert defaults.max_tokens_limit == CONFIG.max_tokens_limit


@pytest.mark.parametrize("name", sorted(CHATS))
def test_a_chat_request_asks_what_the_node_answers(name):
    body = {"model": MODEL, **CHATS[name]}
    node = from_chat(wire.ChatRequest.model_validate(body), [], CONFIG)
    kept = wire.ChatRequest.model_validate(body).model_dump(mode="json", exclude_unset=True)
    mine = asked(kept, TERMS)
    assert (mine.text, mine.stop, mine.max_tokens) == (node.text, node.stop, node.max_tokens)
    assert mine.ignore_eos == node.ignore_eos == (name == "ignore-eos")


@pytest.mark.parametrize("name", sorted(COMPLETIONS))
def test_a_completion_request_asks_what_the_node_answers(name):
    body = {"model": MODEL, **COMPLETIONS[name]}
    node = from_completion(wire.CompletionRequest.model_validate(body), [], CONFIG)
    kept = wire.CompletionRequest.model_validate(body).model_dump(mode="json", exclude_unset=True)
    mine = asked(kept, TERMS)
    assert (mine.text, mine.stop, mine.max_tokens) == (node.text, node.stop, node.max_tokens)


@pytest.mark.parametrize(
    ("request_body", "reason"),
    [
        ({"messages": [{"role": "system", "content": "x"}]}, "holds no user message"),
        ({"prompt": ["a", "b"]}, "holds no single prompt"),
        ({"prompt": 3}, "holds no single prompt"),
        ({}, "holds no single prompt"),
        ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "not one a node answers"),
        ({"messages": "who"}, "not one a node answers"),
        ({"prompt": "x", "max_tokens": "many"}, "not one a node answers"),
    ],
    ids=[
        "no-user",
        "two-prompts",
        "not-text",
        "empty",
        "part-without-text",
        "bad-messages",
        "bad-budget",
    ],
)
def test_a_request_no_node_answers_is_refused(request_body, reason):
    with pytest.raises(InputError, match=reason):
        asked(request_body, TERMS)
