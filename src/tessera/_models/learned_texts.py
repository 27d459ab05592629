"""The texts an adapter learned, kept in its folder: what training attribution searches.

    write_training_texts(folder, texts)      # by the trainer, beside the weights
    texts = read_training_texts(folder)      # None: the folder has none (an imported adapter)

One JSON line per text: the contribution's CID, the text, and where its learned part starts
(a question-answer rendering is learned from its answer on). The file is one of the folder's
files, so the weights digest that governance approves and the chain records covers it, and it
is published and fetched by CID with the weights: anyone can rebuild the attribution index
from it. A fetched folder is hostile until read: bounded before parsing, exact keys and types.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tessera._errors import ModelError
from tessera._models.training_data import TrainingText

TRAINING_TEXTS = "training_texts.jsonl"
MAX_TEXTS_BYTES = 1 << 28  # 256 MiB: far above what a CPU trains on in a day
_KEYS = {"cid", "text", "answer_from"}


def write_training_texts(folder: Path, texts: Sequence[TrainingText]) -> None:
    lines = (
        json.dumps({"cid": t.cid, "text": t.text, "answer_from": t.answer_from}, sort_keys=True)
        for t in texts
    )
    (Path(folder) / TRAINING_TEXTS).write_text("".join(line + "\n" for line in lines))


def read_training_texts(folder: Path) -> list[TrainingText] | None:
    """The texts `folder`'s adapter learned; None if it has no such file; ModelError if the
    file is there and not what the trainer writes."""
    path = Path(folder) / TRAINING_TEXTS
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_TEXTS_BYTES:
        raise ModelError(f"{path} is over {MAX_TEXTS_BYTES} bytes: not a training texts file")
    texts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ModelError(f"{path}:{number} is not JSON") from None
        if not isinstance(row, dict) or set(row) != _KEYS:
            raise ModelError(f"{path}:{number} must have exactly {sorted(_KEYS)}")
        cid, text, start = row["cid"], row["text"], row["answer_from"]
        if not isinstance(cid, str) or not isinstance(text, str):
            raise ModelError(f"{path}:{number}: cid and text must be strings")
        if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start <= len(text):
            raise ModelError(f"{path}:{number}: answer_from must be a position in the text")
        texts.append(TrainingText(cid, text, start))
    return texts
