"""The sample: fixed by the block after the post, recomputable by anyone, each validator's its
own at its stake's share of the network's rate, uniform, and as likely to catch a lying node as
the hypergeometric formula says."""

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
    stake_share,
    union_miss_probability,
)

NODE = Account.from_key(b"\x01" * 32).address
OTHER = Account.from_key(b"\x02" * 32).address
VALIDATOR = Account.from_key(b"\x03" * 32).address
ANOTHER_VALIDATOR = Account.from_key(b"\x04" * 32).address


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
    assert len(sample(seed(1), NODE, 0, count, rate, VALIDATOR)) == size


@pytest.mark.parametrize("count", [1, 2, 9, 100, 1000])
def test_a_sample_is_distinct_in_range_and_the_same_for_everyone(count):
    drawn = sample(seed(7), NODE, 3, count, 0.3, VALIDATOR)
    assert drawn == sorted(set(drawn)) and all(0 <= i < count for i in drawn)
    assert sample(seed(7), NODE, 3, count, 0.3, VALIDATOR) == drawn


def test_the_seed_the_node_the_epoch_and_the_validator_each_change_the_sample():
    drawn = sample(seed(7), NODE, 3, 1000, 0.1, VALIDATOR)
    assert sample(seed(8), NODE, 3, 1000, 0.1, VALIDATOR) != drawn
    assert sample(seed(7), OTHER, 3, 1000, 0.1, VALIDATOR) != drawn
    assert sample(seed(7), NODE, 4, 1000, 0.1, VALIDATOR) != drawn
    assert sample(seed(7), NODE, 3, 1000, 0.1, ANOTHER_VALIDATOR) != drawn


@pytest.mark.parametrize(
    ("stake", "total", "rate"),
    [(1, 1, 0.1), (1, 2, 0.05), (1, 4, 0.025), (3, 4, 0.075), (0, 4, 0.0), (5, 0, 0.1)],
)
def test_a_validator_checks_its_stakes_share_of_the_networks_rate(stake, total, rate):
    assert stake_share(0.1, stake, total) == pytest.approx(rate)


def test_validators_sharing_the_rate_catch_a_liar_as_the_product_of_their_misses_says():
    n, liars, trials = 200, 6, 3000
    validators, share = (VALIDATOR, ANOTHER_VALIDATOR), stake_share(0.1, 1, 2)
    sizes = [sample_size(n, share)] * 2
    lies = set(range(100, 100 + liars))
    missed = sum(
        not lies & set().union(*(sample(seed(t), NODE, 2, n, share, v) for v in validators))
        for t in range(trials)
    )
    p = union_miss_probability(n, liars, sizes)
    assert p == pytest.approx(miss_probability(n, liars, sizes[0]) ** 2)
    assert abs(missed / trials - p) < 5 * math.sqrt(p * (1 - p) / trials)


def test_every_receipt_is_as_likely_to_be_sampled():
    count, rate, trials = 20, 0.25, 4000
    hits = [0] * count
    for t in range(trials):
        for i in sample(seed(t), NODE, 0, count, rate, VALIDATOR):
            hits[i] += 1
    expected = trials * sample_size(count, rate) / count  # 1000
    sigma = math.sqrt(expected * (1 - sample_size(count, rate) / count))
    assert all(abs(h - expected) < 5 * sigma for h in hits), hits


def test_the_miss_probability_is_what_sampling_gives():
    n, liars, rate, trials = 100, 5, 0.1, 4000
    m = sample_size(n, rate)
    lies = set(range(40, 40 + liars))
    missed = sum(
        not lies & set(sample(seed(t), NODE, 1, n, rate, VALIDATOR)) for t in range(trials)
    )
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
