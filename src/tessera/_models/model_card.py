"""What a trained adapter says about itself: a Hugging Face model card and a training manifest.

    write_card(folder, provenance, facts)       # README.md: YAML front matter, then prose
    write_manifest(folder, provenance, facts)   # training_manifest.json: canonical JSON

The manifest is what provenance is built on: the exact contribution CIDs trained on, in the
order they were given, the settings and their hash (sha256 of their canonical JSON), the base
model's weights digest and the adapter weights' sha256.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tessera._crypto.receipt import canonical_json

MANIFEST = "training_manifest.json"
CARD = "README.md"
MANIFEST_FORMAT = "tessera-training-manifest/1"


@dataclass(frozen=True)
class Provenance:
    """What the caller knows about the run that the trainer cannot see: names and licences."""

    name: str = "tessera-adapter"
    base_name: str = ""  # how the card names the base ("" -> the base folder's path)
    datasets: tuple[str, ...] = ()  # datanet ids (or names) of the snapshot
    licenses: tuple[str, ...] = ()  # the licences of the contributions trained on
    snapshot: dict[str, Any] = field(default_factory=dict)  # e.g. datanet -> batch root


@dataclass(frozen=True)
class RunFacts:
    """What the trainer knows: base, data, settings, figures."""

    base_name: str
    base_revision: str  # weights_digest of the base folder
    cids: tuple[str, ...]
    settings: dict[str, Any]
    config_hash: str
    figures: dict[str, Any]
    adapter_sha256: str


def config_hash(settings: dict[str, Any]) -> str:
    return "0x" + hashlib.sha256(canonical_json(settings)).hexdigest()


def write_manifest(folder: Path, provenance: Provenance, facts: RunFacts) -> Path:
    manifest = {
        "format": MANIFEST_FORMAT,
        "name": provenance.name,
        "base_model": facts.base_name,
        "base_revision": facts.base_revision,
        "contributions": list(facts.cids),
        "datasets": list(provenance.datasets),
        "snapshot": provenance.snapshot,
        "settings": facts.settings,
        "config_hash": facts.config_hash,
        "adapter_weights_sha256": facts.adapter_sha256,
        "figures": facts.figures,
    }
    path = folder / MANIFEST
    path.write_bytes(canonical_json(manifest) + b"\n")
    return path


def write_card(folder: Path, provenance: Provenance, facts: RunFacts) -> Path:
    path = folder / CARD
    path.write_text(_front_matter(provenance, facts) + _body(provenance, facts))
    return path


def _front_matter(provenance: Provenance, facts: RunFacts) -> str:
    licenses = sorted(set(provenance.licenses))
    lines = ["---", f"base_model: {_quote(facts.base_name)}", "base_model_relation: adapter"]
    lines += ["library_name: peft", "pipeline_tag: text-generation"]
    lines.append(f"license: {_quote(licenses[0] if len(licenses) == 1 else 'other')}")
    lines += _list("licenses", licenses) + _list("datasets", list(provenance.datasets))
    lines += ["tags:", "  - lora", "  - tessera"]
    lines.append("training:")
    lines += [f"  {key}: {_quote(value)}" for key, value in sorted(facts.settings.items())]
    lines += [
        f"config_hash: {_quote(facts.config_hash)}",
        f"base_revision: {_quote(facts.base_revision)}",
    ]
    lines.append("figures:")
    lines += [f"  {key}: {_quote(value)}" for key, value in sorted(facts.figures.items())]
    return "\n".join(lines) + "\n---\n"


def _list(key: str, values: list[str]) -> list[str]:
    return [f"{key}:", *(f"  - {_quote(v)}" for v in values)] if values else [f"{key}: []"]


def _quote(value: Any) -> str:
    """A YAML scalar: numbers and booleans as they are, everything else as a JSON string
    (JSON strings are YAML strings)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _body(provenance: Provenance, facts: RunFacts) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in sorted(facts.settings.items()))
    figures = ", ".join(f"{k}={v}" for k, v in sorted(facts.figures.items()))
    return (
        f"\n# {provenance.name}\n\n"
        f"A LoRA adapter (PEFT) for `{facts.base_name}` (weights digest "
        f"`{facts.base_revision}`), trained by Tessera on {len(facts.cids)} contributions"
        f"{' of ' + ', '.join(provenance.datasets) if provenance.datasets else ''}.\n\n"
        f"The exact contribution CIDs, in order, are in `{MANIFEST}`; the settings' hash is "
        f"`{facts.config_hash}`.\n\n"
        f"- Training: {settings}\n- Figures: {figures}\n"
    )
