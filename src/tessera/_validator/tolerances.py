"""How far an honest node's numbers may stray from a validator's before a re-check calls it
a lie. Floating point differs between machines, thread counts and batch shapes, so an honest
answer is never bit-identical everywhere; each tolerance sits far above the largest honest
deviation measured (tests/validator/test_honest_deviation.py) and far below any lie worth
telling.
"""

# an answer token may trail the validator's top logit by this much and be a near tie
LOGIT_TOLERANCE = 0.05
# a document's attribution weight may differ from the recomputed one by this many ppm
WEIGHT_TOLERANCE_PPM = 2_000
# how far rounding may move a document's measured effect (nats): within it, a weight that a
# threshold or a tiny total makes jumpy is inconclusive, not a fault
EFFECT_TOLERANCE = 0.002
# cosine similarities this close rank either way: a retrieval tie
SCORE_TOLERANCE = 1e-4
