"""The sample: fixed by the block after the post, the same for everyone, uniform, and as likely
to catch a lying node as the hypergeometric formula says."""

from __future__ import annotations

import math

import pytest
from eth_account import Account

from tessera._chain.client import IN_PROCESS, Chain
from tessera._validator.sampling import (
    DEFAULT_SAMPLE_RATE,
    epoch_seed,
    miss_probability,
    rate_to_catch,
    sample,
    sample_size,
)

NODE = Account.from_key(b"\x01" * 32).address
OTHER = Account.from_key(b"\x02" * 32).address


def seed(i: int) -> bytes:
    return i.to_bytes(32, "big")


@pytest.mark.parametrize(
    ("count", "rate", "size"),
    [
        (0, 0.1, 0),
        (1, 0.1, 1),
        (10, 0.1, 1),
        (11, 0.1, 2),
        (1000, 0.1, 100),
        (100, 0.07, 7),
        (7, 1.0, 7),
        (5, 0.5, 3),
        (3, 0.0, 1),
    ],
)
def test_the_sample_size_is_the_rate_rounded_up_at_least_one(count, rate, size):
    assert sample_size(count, rate) == size
    assert len(sample(seed(1), NODE, 0, count, rate)) == size


@pytest.mark.parametrize("count", [1, 2, 9, 100, 1000])
def test_a_sample_is_distinct_in_range_and_the_same_for_everyone(count):
    drawn = sample(seed(7), NODE, 3, count, 0.3)
    assert drawn == sorted(set(drawn)) and all(0 <= i < count for i in drawn)
    assert sample(seed(7), NODE, 3, count, 0.3) == drawn


def test_the_seed_the_node_and_the_epoch_each_change_the_sample():
    drawn = sample(seed(7), NODE, 3, 1000, 0.1)
    assert sample(seed(8), NODE, 3, 1000, 0.1) != drawn
    assert sample(seed(7), OTHER, 3, 1000, 0.1) != drawn
    assert sample(seed(7), NODE, 4, 1000, 0.1) != drawn


def test_every_receipt_is_as_likely_to_be_sampled():
    count, rate, trials = 20, 0.25, 4000
    hits = [0] * count
    for t in range(trials):
        for i in sample(seed(t), NODE, 0, count, rate):
            hits[i] += 1
    expected = trials * sample_size(count, rate) / count  # 1000
    sigma = math.sqrt(expected * (1 - sample_size(count, rate) / count))
    assert all(abs(h - expected) < 5 * sigma for h in hits), hits


def test_the_miss_probability_is_what_sampling_gives():
    n, liars, rate, trials = 100, 5, 0.1, 4000
    m = sample_size(n, rate)
    lies = set(range(40, 40 + liars))
    missed = sum(not lies & set(sample(seed(t), NODE, 1, n, rate)) for t in range(trials))
    p = miss_probability(n, liars, m)
    assert p == pytest.approx(math.comb(95, 10) / math.comb(100, 10))
    assert abs(missed / trials - p) < 5 * math.sqrt(p * (1 - p) / trials)


def test_the_default_rate_catches_a_node_lying_on_5_percent_of_1000_answers():
    m = sample_size(1000, DEFAULT_SAMPLE_RATE)
    assert 1 - miss_probability(1000, 50, m) >= 0.99


@pytest.mark.parametrize(
    ("n", "fraction", "probability"),
    [(1000, 0.05, 0.99), (1000, 0.01, 0.9), (200, 0.1, 0.999), (10, 0.1, 0.5)],
)
def test_the_rate_to_catch_is_the_smallest_that_does(n, fraction, probability):
    rate = rate_to_catch(n, fraction, probability)
    m, liars = sample_size(n, rate), max(1, math.floor(fraction * n + 1e-9))
    assert 1 - miss_probability(n, liars, m) >= probability
    assert m == 1 or 1 - miss_probability(n, liars, m - 1) < probability


def test_the_rate_to_catch_5_percent_lies_is_below_the_default():
    assert rate_to_catch(1000, 0.05, 0.99) <= DEFAULT_SAMPLE_RATE


def test_a_miss_probability_of_impossible_counts_is_refused():
    with pytest.raises(ValueError, match="need 0 <= liars, m <= n; got n=5, liars=6, m=1"):
        miss_probability(5, 6, 1)
    assert miss_probability(5, 5, 1) == 0.0 and miss_probability(5, 0, 5) == 1.0


def test_the_seed_is_the_hash_of_the_block_after_the_post_once_it_exists():
    chain = Chain.connect(IN_PROCESS)
    posted = chain.block_number()
    assert epoch_seed(chain, posted) is None  # the node posts before anyone knows the sample
    tester = chain.w3.provider.ethereum_tester
    tester.mine_blocks(1)
    fixed = epoch_seed(chain, posted)
    assert fixed == bytes(chain.w3.eth.get_block(posted + 1)["hash"]) and len(fixed) == 32
    tester.mine_blocks(3)
    assert epoch_seed(chain, posted) == fixed  # later blocks do not move it
    assert epoch_seed(chain, posted + 1) != fixed
