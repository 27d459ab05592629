"""The prompt re-check: the receipt's documents can be fetched by their CIDs, and they are what
retrieval over the receipt's datanet snapshots ranks first for its question, each credited to
the contributor the datanet registered it under.

A document the validator cannot fetch, or whose bytes do not hash to its CID, is data it could
not get: inconclusive, never a challenge. Retrieval scores that differ by less than
SCORE_TOLERANCE rank either way on another machine: a set that differs only across such a tie
is inconclusive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tessera._crypto.receipt import AttributedSource, DatanetSnapshot
from tessera._data.vectors import Hit
from tessera._errors import TesseraError
from tessera._store.cid import decode_cid
from tessera._validator.finding import Finding
from tessera._validator.tolerances import SCORE_TOLERANCE

# (question, the receipt's snapshots, k) -> the k best contributions, best first. The builder
# hands in a search of an index over exactly those snapshots that leaves out what governance
# blocked, as the node's retrieval does.
Retrieve = Callable[[str, tuple[DatanetSnapshot, ...], int], Sequence[Hit]]


def fetch_documents(get: Callable[[str], bytes], context: Sequence[str]) -> list[str] | Finding:
    """The prompt's documents as text, in prompt order; a Finding if one cannot be had."""
    texts = []
    for cid in context:
        try:
            data = get(cid)
        except TesseraError as exc:
            return Finding("prompt", f"document {cid} could not be fetched: {exc}", True)
        if not decode_cid(cid).matches(data):
            return Finding("prompt", f"the bytes fetched for {cid} do not hash to it", True)
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            return Finding("prompt", f"document {cid} is not UTF-8 text: no prompt held it")
    return texts


def check_retrieval(
    context: Sequence[str],
    attribution: Sequence[AttributedSource],
    hits: Sequence[Hit],
    top_k: int,
) -> list[Finding]:
    """`hits`: retrieval's best, more than `top_k` of them where there are, best first."""
    found = _check_ranking(context, hits, top_k)
    by_cid = {h.cid: h for h in hits}
    for source in attribution:
        hit = by_cid.get(source.cid)
        if hit is not None and (hit.contributor.lower(), hit.datanet) != (
            source.contributor.lower(),
            source.datanet,
        ):
            found.append(
                Finding(
                    "attribution",
                    f"document {source.cid} is credited to {source.contributor} in datanet "
                    f"{source.datanet}, but datanet {hit.datanet} registers it to "
                    f"{hit.contributor}",
                )
            )
    return found


def _check_ranking(context: Sequence[str], hits: Sequence[Hit], top_k: int) -> list[Finding]:
    best = hits[:top_k]
    held, wanted = set(context), {h.cid for h in best}
    if held == wanted and len(context) == len(best):
        return []
    if len(context) != len(best):
        return [
            Finding(
                "prompt",
                f"the prompt held {len(context)} documents where retrieval gives {len(best)}",
            )
        ]
    score = {h.cid: h.score for h in hits}
    strays = held - wanted
    if any(c not in score for c in strays):
        return [
            Finding(
                "prompt",
                f"the prompt held {sorted(c for c in strays if c not in score)}, which "
                f"retrieval over the receipt's snapshots does not rank near its top {top_k}",
            )
        ]
    # every stray must tie with every document it displaced
    margin = max(score[c] for c in wanted - held) - min(score[c] for c in strays)
    if margin > SCORE_TOLERANCE:
        return [
            Finding(
                "prompt",
                f"the prompt held {sorted(strays)} in place of {sorted(wanted - held)}, which "
                f"retrieval ranks higher by {margin:.3g} (tolerance {SCORE_TOLERANCE})",
            )
        ]
    return [Finding("prompt", "the prompt's documents differ only across a retrieval tie", True)]
