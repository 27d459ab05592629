"""How far an honest node's numbers may stray from a validator's before a re-check calls them a
lie. Rounding differs between machines, BLAS libraries, thread counts and batch shapes, so an
honest answer is never bit-identical everywhere; EigenAI pins the runtime to get bit-exact
re-execution, Tessera instead states a tolerance, as TOPLOC does.

Measured (tests/validator/test_honest_deviation.py, float32: the node batched and alone with
oneDNN at 1 and 2 threads, the validator on plain BLAS at the other count or the same; on the
tiny test models and on the default Gemma 3 270M): log p(answer) moved by at most 3.9e-5 nats,
no honest answer token ever trailed the validator's top logit, effects moved by at most
2.6e-5 nats, weights by 2 ppm, retrieval similarities not at all. Each tolerance below is
about 190 times the deviation seen or more, and small enough that no lie it lets through is
worth telling.
"""

# an answer token may trail the validator's top logit by this much: a near tie, inconclusive
# (a token within 0.05 logits of the top is a coin toss: choosing it gains a liar nothing)
LOGIT_TOLERANCE = 0.05
# a document's attribution weight may differ from the recomputed one by this much (0.2%)
WEIGHT_TOLERANCE_PPM = 2_000
# how far rounding may move a document's measured effect (nats): within it, a weight that a
# threshold or a tiny total makes jumpy is inconclusive, not a fault
EFFECT_TOLERANCE = 0.005
# cosine similarities this close rank either way: a retrieval tie
SCORE_TOLERANCE = 1e-4
# an answer's training share of the contributors' pool may differ from the recomputed one by
# this much (0.2%): the gains it divides move by the effects' rounding, a few ppm at most
TRAINING_SHARE_TOLERANCE_PPM = 2_000
