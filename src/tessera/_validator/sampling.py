"""Which receipts of an epoch a validator re-checks, and how likely a lying node is caught.

The sample is drawn from the hash of the block after the epoch was posted: the node signs and
posts its receipts before that block exists, so it cannot know which of them will be checked.
Each validator draws its own sample (its address is in the draw), at its stake's share of the
network's rate: together the validators check about NETWORK_SAMPLE_RATE of every epoch, at
that cost however many they are, and a node cannot learn which receipts any one of them skips.
(Were all to draw one sample, each added validator would re-check the same receipts: the cost
would grow with their number and the chance of catching a liar would not.) The price is the
committees' own assumption: the share of the rate held by dishonest stake checks nothing.

A sample of m of an epoch's n receipts, drawn without replacement, misses all of a node's
`liars` false receipts with probability C(n - liars, m) / C(n, m) (hypergeometric); samples
drawn independently miss with the product of theirs. At the network's rate of 0.1, a node
lying on 5% of a 1,000-receipt epoch is missed by one validator's 100 with probability
C(950, 100) / C(1000, 100) ~ 0.0045, by two equal validators' 50 each with ~ 0.0052: caught
with probability above 0.99 either way.
"""

from __future__ import annotations

import math

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from tessera._chain.client import Chain

NETWORK_SAMPLE_RATE = 0.1  # the share of every epoch the validators re-check between them
DEFAULT_SAMPLE_RATE = NETWORK_SAMPLE_RATE  # what one validator holding all the stake checks


def epoch_seed(chain: Chain, posted_block: int) -> bytes | None:
    """The hash of block `posted_block + 1`, or None while that block does not exist."""
    fixing = posted_block + 1
    if chain.block_number() < fixing:
        return None
    return bytes(chain.w3.eth.get_block(fixing)["hash"])


def sample_size(count: int, rate: float) -> int:
    """m = min(count, max(1, ceil(rate * count))); none of an empty epoch."""
    if count <= 0:
        return 0
    # rounded first: 0.07 * 100 is 7.000000000000001 in floats, and must sample 7
    return min(count, max(1, math.ceil(round(rate * count, 9))))


def stake_share(rate: float, stake: int, total_stake: int) -> float:
    """A validator's rate: its stake's share of the network's `rate` (all of it when it holds
    all the stake, or none is staked)."""
    if total_stake <= 0 or stake >= total_stake:
        return rate
    return rate * max(0, stake) / total_stake


def sample(
    seed: bytes, node: str, epoch: int, count: int, rate: float, validator: str
) -> list[int]:
    """`sample_size(count, rate)` distinct receipt indices of `node`'s `epoch`, ascending.

    A partial Fisher-Yates shuffle of range(count) whose i-th swap is drawn from
    keccak256(abi_encode(seed, node, epoch, validator, i)): deterministic, so anyone can
    recompute which receipts `validator` was to check, and independent between validators.
    """
    picked: dict[int, int] = {}  # the shuffled positions that differ from range(count)
    prefix = encode(
        ["bytes32", "address", "uint256", "address"],
        [seed, to_checksum_address(node), epoch, to_checksum_address(validator)],
    )
    for i in range(sample_size(count, rate)):
        draw = int.from_bytes(keccak(prefix + encode(["uint256"], [i])), "big")
        j = i + draw % (count - i)  # modulo bias below 2**-200: negligible
        picked[i], picked[j] = picked.get(j, j), picked.get(i, i)
    return sorted(picked[i] for i in range(sample_size(count, rate)))


def miss_probability(n: int, liars: int, m: int) -> float:
    """The chance that m receipts drawn without replacement from n hold none of `liars`."""
    if not 0 <= liars <= n or not 0 <= m <= n:
        raise ValueError(f"need 0 <= liars, m <= n; got n={n}, liars={liars}, m={m}")
    return math.comb(n - liars, m) / math.comb(n, m)


def union_miss_probability(n: int, liars: int, sizes: list[int]) -> float:
    """The chance that independent samples of `sizes` receipts each all miss the lies."""
    return math.prod(miss_probability(n, liars, m) for m in sizes)


def rate_to_catch(n: int, fraction: float, probability: float) -> float:
    """The smallest rate whose sample of an n-receipt epoch catches a node lying on `fraction`
    of its receipts (at least one lie) with at least `probability`."""
    liars = max(1, math.floor(round(fraction * n, 9)))
    for m in range(1, n + 1):
        if 1 - miss_probability(n, liars, m) >= probability:
            return m / n
    return 1.0
