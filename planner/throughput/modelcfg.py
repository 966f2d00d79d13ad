"""A Hugging Face ``config.json`` reduced to the fields that set serving throughput.

Read: hidden size, layers, attention and KV heads, head dim, the MLP's intermediate size,
experts (``n_routed_experts`` / ``num_experts`` / ``num_local_experts``), experts per token,
shared experts and the expert intermediate size, dense layers before the first MoE layer
(``first_k_dense_replace``), MLA ranks (``q_lora_rank``, ``kv_lora_rank``, rope / nope / value head
dims), sliding windows (``sliding_window``, ``layer_types``), vocabulary, tied embeddings and the
quantisation method. Derived: total and active parameters per token, and KV-cache elements per
token (MLA caches its compressed latent and rope key; GQA two heads' worth per KV head;
sliding-window layers counted at full length, an upper bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.errors import ScenarioError
from planner.inputs import read_json


@dataclass(frozen=True)
class ModelConfig:
    architecture: str
    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate_size: int  # dense MLP
    experts: int  # routed experts; 0: dense
    experts_per_token: int
    shared_experts: int
    expert_intermediate_size: int
    dense_layers: int  # layers with a dense MLP (MoE models: those before the first MoE layer)
    attention: str  # mha | gqa | mla | sliding (some layers windowed)
    kv_lora_rank: int | None
    q_lora_rank: int | None
    rope_head_dim: int
    nope_head_dim: int
    v_head_dim: int
    sliding_window: int | None
    vocab_size: int
    tied_embeddings: bool
    quantization: str  # fp8 | mxfp4 | ... | none (the checkpoint's dtype)
    total_params: float  # [parameters]
    active_params: float  # per token [parameters]
    kv_elements_per_token: float  # over all layers [elements]

    @property
    def moe(self) -> bool:
        return self.experts > 0


def _int(cfg: dict[str, Any], *keys: str, default: int | None = None, path: Path | None = None) -> int:
    for k in keys:
        v = cfg.get(k)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    if default is not None:
        return default
    raise ScenarioError(f"{path}: config.json lacks {' / '.join(keys)}")


def normalise(cfg: dict[str, Any], path: Path | None = None) -> ModelConfig:
    """The fields of a parsed ``config.json`` that matter (text model: ``text_config`` when nested)."""
    if isinstance(cfg.get("text_config"), dict):
        cfg = {**cfg, **cfg["text_config"]}
    hidden = _int(cfg, "hidden_size", path=path)
    layers = _int(cfg, "num_hidden_layers", path=path)
    heads = _int(cfg, "num_attention_heads", path=path)
    kv_heads = _int(cfg, "num_key_value_heads", default=heads)
    head_dim = _int(cfg, "head_dim", default=hidden // heads)
    inter = _int(cfg, "intermediate_size", path=path)
    experts = _int(cfg, "n_routed_experts", "num_experts", "num_local_experts", default=0)
    per_token = _int(cfg, "num_experts_per_tok", "num_experts_per_token", default=0) if experts else 0
    shared = _int(cfg, "n_shared_experts", default=0) if experts else 0
    expert_inter = _int(cfg, "moe_intermediate_size", default=inter) if experts else 0
    dense_layers = _int(cfg, "first_k_dense_replace", default=0) if experts else layers
    kv_lora = cfg.get("kv_lora_rank") if isinstance(cfg.get("kv_lora_rank"), int) else None
    q_lora = cfg.get("q_lora_rank") if isinstance(cfg.get("q_lora_rank"), int) else None
    rope = _int(cfg, "qk_rope_head_dim", default=0)
    nope = _int(cfg, "qk_nope_head_dim", default=head_dim)
    v_dim = _int(cfg, "v_head_dim", default=head_dim)
    window = cfg.get("sliding_window") if isinstance(cfg.get("sliding_window"), int) else None
    types = cfg.get("layer_types") or []
    windowed = window is not None and (not types or any("sliding" in str(t) for t in types))
    if kv_lora:
        attention = "mla"
    elif windowed:
        attention = "sliding"
    else:
        attention = "gqa" if kv_heads < heads else "mha"
    vocab = _int(cfg, "vocab_size", path=path)
    tied = bool(cfg.get("tie_word_embeddings", False))
    quant = (cfg.get("quantization_config") or {}).get("quant_method") or "none"

    if kv_lora:
        q = hidden * q_lora + q_lora * heads * (nope + rope) if q_lora else hidden * heads * (nope + rope)
        kv = hidden * (kv_lora + rope) + kv_lora * heads * (nope + v_dim)
        attn = q + kv + heads * v_dim * hidden
        kv_per_layer = kv_lora + rope
    else:
        attn = hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim + heads * head_dim * hidden
        kv_per_layer = 2 * kv_heads * head_dim
    dense_mlp = 3 * hidden * inter
    expert = 3 * hidden * expert_inter
    moe_layers = layers - dense_layers
    total = layers * attn + dense_layers * dense_mlp + moe_layers * ((experts + shared) * expert + hidden * experts)
    active = layers * attn + dense_layers * dense_mlp + moe_layers * ((per_token + shared) * expert + hidden * experts)
    embed = vocab * hidden * (1 if tied else 2)
    if not (math.isfinite(total) and total > 0):
        raise ScenarioError(f"{path}: config.json gives no positive parameter count")
    return ModelConfig(
        architecture=(cfg.get("architectures") or ["unknown"])[0],
        hidden_size=hidden,
        layers=layers,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=inter,
        experts=experts,
        experts_per_token=per_token,
        shared_experts=shared,
        expert_intermediate_size=expert_inter,
        dense_layers=dense_layers,
        attention=attention,
        kv_lora_rank=kv_lora,
        q_lora_rank=q_lora,
        rope_head_dim=rope,
        nope_head_dim=nope,
        v_head_dim=v_dim,
        sliding_window=window,
        vocab_size=vocab,
        tied_embeddings=tied,
        quantization=str(quant),
        total_params=float(total + embed),
        active_params=float(active + embed),
        kv_elements_per_token=float(layers * kv_per_layer),
    )


def read_model_config(path: Path) -> ModelConfig:
    data = read_json(Path(path), "model config (config.json)")
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a config.json is a JSON object")
    return normalise(data, Path(path))
