"""What a node serves and charges; a typed config instead of keyword soup."""

from __future__ import annotations

from dataclasses import dataclass, field

from tessera._attribution.weights import DEFAULT_MIN_EFFECT

DEFAULT_MODEL_ID = "gemma-3-270m"


@dataclass(frozen=True)
class NodeConfig:
    datanets: tuple[str, ...] = ()  # empty: every datanet on the chain
    model_path: str | None = None  # None: the default Gemma 3 270M; else a local HF folder
    model_id: str = DEFAULT_MODEL_ID
    # a model_path folder is served as local/FOLDER unless its id was given (`--model-id`)
    model_id_given: bool = False
    # adapters served beside the base: model ids, or ("all",) for every one on the base
    adapters: tuple[str, ...] = ()
    adapter_memory_mib: int = 1024  # the resident set's budget: the bank's slots fit in it
    adapter_rank: int = 16  # the highest adapter rank served (a slot's size)
    catalog_refresh_s: float = 2.0  # how often the model registry is re-read for new adapters
    require_approval: bool = False  # True: refuse models governance has not approved
    host: str = "127.0.0.1"
    port: int = 8000
    top_k: int = 3  # documents retrieved per question (more adds distractors and cost)
    max_batch: int = 8
    max_prompt_tokens: int = 2048  # the context window this node serves
    default_max_tokens: int = 48
    max_tokens_limit: int = 512
    min_effect: float = DEFAULT_MIN_EFFECT
    payments: bool = True  # False: a free node (no vouchers; receipts carry price 0)
    price_per_input_token: int = 10**12  # smallest token units (18 decimals)
    price_per_output_token: int = 4 * 10**12
    settle_check_s: float | None = 5.0  # how often to check whether an epoch is due; None: never
    follow_interval_s: float = 2.0
    stop: tuple[str, ...] = field(default=("\n",))  # answers are one line (base-model prompt)
    # limits checked before any work: a hostile client must not spend the node's memory or CPU
    max_body_bytes: int = 1 << 20  # a request body (413 request_too_large above it)
    max_json_depth: int = 32  # nesting of arrays and objects (400 json_too_deep)
    max_prompt_chars: int = 16_384  # the question's text (400 prompt_too_long)
    max_messages: int = 256  # messages in one chat request
    max_stops: int = 16  # stop strings per request, each 1 to 256 characters
    max_voucher_bytes: int = 2048  # the X-Tessera-Voucher header (402 invalid_voucher)
