"""BM25 (Robertson and Zaragoza's Okapi weighting), the lexical baseline of attribution.

bm25 = Bm25(["text of contribution 1", ...])
scores = bm25.scores("question and answer")
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class Bm25:
    def __init__(self, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._counts = [Counter(words(t)) for t in texts]
        self._lengths = [sum(c.values()) for c in self._counts]
        self._mean = sum(self._lengths) / max(1, len(texts))
        holders = Counter(w for c in self._counts for w in c)
        n = len(texts)
        self._idf = {w: math.log(1 + (n - k + 0.5) / (k + 0.5)) for w, k in holders.items()}

    def scores(self, query: str) -> list[float]:
        terms = words(query)
        out = []
        for counts, length in zip(self._counts, self._lengths, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / (self._mean or 1))
            out.append(
                sum(
                    self._idf[t] * counts[t] * (self.k1 + 1) / (counts[t] + norm)
                    for t in terms
                    if t in counts
                )
            )
        return out
