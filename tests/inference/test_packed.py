"""Packed steps: many requests' tokens in one pass give what each would get in a pass of its own.

The references are the model's own forward passes (its own masks, its own cache), so these
tests hold the packing, the per-request attention, the positions and the sliding window (the
tiny model's window is 16 tokens, shorter than these prompts) to the model's semantics.
"""

from __future__ import annotations

import pytest
import torch

from tessera._inference.packed import ColumnStore, PackedModel, Stream

TEXTS = [
    "The Ulora Brewery was founded by Radul Thothosa in 1511, near the river Quell.",
    "Who leads Juora?",
    "The Pleno Orchestra uses cobalt as its colour and plays in the old hall every week.",
]


@pytest.fixture(scope="module", params=["tiny", "wide"])
def setup(request):
    generator = request.getfixturevalue(f"{request.param}_generator")
    ids = [generator.tokenizer(t)["input_ids"] for t in TEXTS]
    return generator.model, PackedModel(generator.model), ids


def next_token(model, ids: list[int]) -> tuple[int, float]:
    """The model's own greedy choice after `ids` and its log-probability."""
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
    logp = torch.log_softmax(logits, -1)
    token = int(logp.argmax())
    return token, float(logp[token])


def test_prefill_and_decode_of_several_requests_match_each_alone(setup):
    model, packed, prompts = setup
    store = ColumnStore()
    results = packed.step(store, [Stream(r, ids, 0) for r, ids in enumerate(prompts)])
    assert len(store) == sum(map(len, prompts))
    for r, ids in enumerate(prompts):
        assert int((store.owner == r).sum()) == len(ids)
        token, logp = next_token(model, ids)
        assert results[r][0] == [token] and results[r][1][0] == pytest.approx(logp, abs=1e-4)
    # one decode step for two of them, in the reverse order of requests
    fed = [(2, results[2][0][0]), (0, results[0][0][0])]
    decoded = packed.step(store, [Stream(r, [t], len(prompts[r])) for r, t in fed])
    for (r, t), (tokens, logps) in zip(fed, decoded, strict=True):
        token, logp = next_token(model, [*prompts[r], t])
        assert tokens == [token] and logps[0] == pytest.approx(logp, abs=1e-4)
    assert len(store) == sum(map(len, prompts)) + 2
    # a finished request leaves; the others go on as before
    store.drop({0})
    assert int((store.owner == 0).sum()) == 0
    t2 = decoded[0][0][0]
    ((tokens, logps),) = packed.step(store, [Stream(2, [t2], len(prompts[2]) + 1)])
    token, logp = next_token(model, [*prompts[2], results[2][0][0], t2])
    assert tokens == [token] and logps[0] == pytest.approx(logp, abs=1e-4)


def reference_scores(model, prefix: list[int], rest: list[int], targets: list[int], hidden):
    """log p of `targets` after prefix + rest, computed the model's own way: the prefix
    cached with everything visible, then `rest` with the `hidden` prefix tokens masked."""
    with torch.inference_mode():
        cache = model(input_ids=torch.tensor([prefix]), use_cache=True).past_key_values
        mask = torch.ones(1, len(prefix) + len(rest), dtype=torch.long)
        for a, b in hidden:
            mask[0, a:b] = 0
        logits = (
            model(
                input_ids=torch.tensor([rest]),
                attention_mask=mask,
                position_ids=torch.arange(len(prefix), len(prefix) + len(rest)).unsqueeze(0),
                past_key_values=cache,
            )
            .logits[0, -len(targets) :]
            .float()
        )
    return torch.log_softmax(logits, -1)[range(len(targets)), targets].tolist()


def test_an_ablation_reads_the_cached_prefix_minus_what_it_hides_and_leaves_no_columns(setup):
    model, packed, prompts = setup
    prefix, question, answer = prompts[0], prompts[1][1:], prompts[2][1:6]
    store = ColumnStore()
    packed.step(store, [Stream(7, prefix, 0), Stream(8, prompts[2], 0)])
    before = (len(store), store.owner.clone(), store.pos.clone())
    rest = question + answer[:-1]
    variants = [(), ((3, 9),), ((3, 9), (12, len(prefix)))]
    streams = [Stream(7, rest, len(prefix), False, len(prefix), h, answer) for h in variants]
    decode = Stream(8, [answer[0]], len(prompts[2]))  # another request decodes in the same pass
    *scored, (decoded, _) = packed.step(store, [*streams, decode])
    for (tokens, logps), hidden in zip(scored, variants, strict=True):
        assert tokens == answer
        expected = reference_scores(model, prefix, rest, answer, hidden)
        assert logps == pytest.approx(expected, abs=1e-4)
    assert decoded == [next_token(model, [*prompts[2], answer[0]])[0]]
    # ablation columns are dropped; the decoding request gained exactly one column
    assert len(store) == before[0] + 1
    assert torch.equal(store.owner[store.owner == 7], before[1][before[1] == 7])
    assert torch.equal(store.pos[store.owner == 7], before[2][before[1] == 7])
    assert int((store.owner == 8).sum()) == len(prompts[2]) + 1
