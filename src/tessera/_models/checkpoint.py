"""A training run's state on disk, written so that a kill at any moment leaves a usable file.

    save_checkpoint(folder, state)      # temp file in the same folder, fsync, os.replace
    state = load_checkpoint(folder, config_hash)   # None: nothing to resume

The state holds everything the next step depends on: the adapter's weights, the optimizer's and
the scheduler's state, the RNG states, the step reached (which fixes the position in the data,
since each epoch's order is a function of the seed and the epoch) and the losses so far.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import torch

from tessera._errors import ModelError

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(folder: Path, state: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save({**state, "rng": _rng_states()}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, folder / CHECKPOINT)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load_checkpoint(folder: Path | None, config_hash: str) -> dict[str, Any] | None:
    """The last checkpoint in `folder` of a run with these settings; None where there is none.
    A checkpoint of other settings is refused rather than silently resumed or overwritten."""
    if folder is None or not (folder / CHECKPOINT).is_file():
        return None
    try:
        state = torch.load(folder / CHECKPOINT, weights_only=False)
    except Exception as error:  # a file this module did not write
        raise ModelError(f"{folder / CHECKPOINT} is not a training checkpoint: {error}") from error
    if state.get("config_hash") != config_hash:
        raise ModelError(
            f"the checkpoint in {folder} is of a run with other settings: "
            "resume with the same settings, or use another checkpoint folder"
        )
    _set_rng_states(state["rng"])
    return state


def _rng_states() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "python": random.getstate()}


def _set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])
