"""What each served adapter learned from, checked before anyone is paid for it.

    learned = LearnedAdapters(LearnedIndex(tokenize), trace)
    learned.learn(digest, folder)        # once per version: its texts indexed, owners traced
    learned.owners(digest)               # cid -> its contributor and datanet, as the chain says
    learned.unavailable(digest)          # why it has no training attribution

An adapter's training texts name contributions by CID; who is paid for one is never taken
from the folder: `trace` follows the adapter's provenance (covered by the weights digest the
chain records) to its snapshot on chain and finds each contribution's signed registration.
A folder without texts (an imported adapter), or whose texts name a contribution its
provenance does not trace to the chain, answers on with training attribution unavailable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tessera._attribution.training import LearnedIndex
from tessera._errors import ModelError, TesseraError
from tessera._models.learned_texts import read_training_texts

log = logging.getLogger("tessera.node")

NO_TEXTS = (
    "this adapter was published without the texts it learned (an imported adapter, or one "
    "trained elsewhere): its training attribution cannot be measured, and none is paid"
)

NOT_TRACED = (
    "the contributions this adapter learned from could not be traced on chain yet (see the "
    "node's log): no training attribution is paid for this answer"
)


@dataclass(frozen=True)
class Owner:
    contributor: str  # checksum address, from the contribution's signed registration
    datanet: int


Trace = Callable[[Path], Mapping[str, Owner]]  # folder -> every contribution it trained on


class LearnedAdapters:
    def __init__(self, index: LearnedIndex, trace: Trace) -> None:
        self.index, self._trace = index, trace
        self._owners: dict[str, Mapping[str, Owner]] = {}
        self._unavailable: dict[str, str] = {}
        self._lock = threading.Lock()

    def learn(self, digest: str, folder: Path) -> None:
        """Index `folder`'s texts and trace their owners, once per digest (a refusal too)."""
        with self._lock:
            if digest in self._owners or digest in self._unavailable:
                return
            try:
                self._owners[digest] = self._learn(digest, folder)
            except ModelError as exc:  # the folder's own fault: it will not change
                self._unavailable[digest] = str(exc)
            except TesseraError as exc:  # the chain or the store: asked again next time
                log.warning("adapter %s: training data not traced yet: %s", digest, exc)

    def owners(self, digest: str) -> Mapping[str, Owner] | None:
        with self._lock:
            return self._owners.get(digest)

    def unavailable(self, digest: str) -> str:
        """Why `digest` has no training attribution now."""
        with self._lock:
            return self._unavailable.get(digest, NOT_TRACED)

    def _learn(self, digest: str, folder: Path) -> Mapping[str, Owner]:
        texts = read_training_texts(folder)
        if not texts:
            raise ModelError(NO_TEXTS)
        try:
            owners = self._trace(folder)
        except ModelError as exc:
            raise ModelError(_refused(f"its training data does not check out ({exc})")) from None
        untraced = sorted({t.cid for t in texts} - set(owners))
        if untraced:
            log.warning("adapter %s: learned texts name untraced %s", digest, untraced[:3])
            raise ModelError(
                _refused(f"its texts name {untraced[:3]}, which its provenance does not trace")
            )
        self.index.add(digest, texts)
        return owners


def _refused(why: str) -> str:
    return (
        f"this adapter's training attribution is unavailable, and none is paid: {why}; its "
        "builder should train and publish it again with `tessera model train` and `publish`"
    )
