"""A Hugging Face ``config.json`` reduced to the fields that set serving throughput.

Read layer by layer: each layer's mixer (full or sliding-window attention, linear attention, a
Mamba-2 block, or none) and MLP (dense, MoE, both, or none), from ``layer_types`` (Qwen3.5 /
Qwen3-Next, gpt-oss, Gemma), Kimi linear's ``kda_layers``, Nemotron-H's
``hybrid_override_pattern`` / ``layers_block_type``, ``first_k_dense_replace``,
``interleave_moe_layer_step`` / ``decoder_sparse_step`` / ``mlp_only_layers`` and Gemma 4's
``enable_moe_block``; DeciLM / Nemotron-NAS ``block_configs`` give every layer its own sizes.
Sizes: hidden size, attention and KV heads, head dim, dense and expert MLP widths, experts, experts
per token, shared experts, latent MoE width, MLA ranks, low-rank query / output, linear-attention
and Mamba head counts and state size, vocabulary, tied embeddings, the quantisation method.
Derived: total, active and routed-expert parameters, KV-cache elements per token (MLA caches its
compressed latent and rope key; GQA two heads' worth per KV head), apart for the layers whose cache
grows with the context and the sliding-window layers, which hold at most their window (``sliding_window``,
off where ``use_sliding_window`` is false; the Qwen2 family windows the layers from
``max_window_layers`` on, MiMo-V2's ``hybrid_layer_pattern`` marks them and gives them their own KV
heads; DeepSeek V4's ``compress_ratios`` add one compressed entry per ``ratio`` tokens beside the window),
and the recurrent state per request (linear attention, Mamba) in bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, TypeVar, cast

from planner.errors import ScenarioError
from planner.inputs import read_json

NON_GATED = ("relu2",)  # MLP activations without a gate matrix (Nemotron-H): up and down only


# --- the config.json fields read -------------------------------------------------------------
# Typed as Hugging Face writes them; a file may hold anything, so every size is checked where it
# is read (_int, _per_layer, _blocks). Keys not listed here are never read.


class QuantizationConfig(TypedDict, total=False):
    quant_method: str  # fp8 | mxfp4 | ...


class LinearAttnConfig(TypedDict, total=False):
    """Kimi linear's ``linear_attn_config``."""

    kda_layers: list[int]  # 1-based indices of the linear-attention layers
    num_heads: int
    head_dim: int


class BlockAttention(TypedDict, total=False):
    """DeciLM / Nemotron-NAS ``block_configs[i].attention``."""

    no_op: bool
    replace_with_linear: bool
    n_heads_in_group: int


class BlockFfn(TypedDict, total=False):
    """DeciLM / Nemotron-NAS ``block_configs[i].ffn``."""

    no_op: bool
    replace_with_linear: bool
    ffn_mult: float


class BlockConfig(TypedDict, total=False):
    attention: BlockAttention
    ffn: BlockFfn


class HFConfig(TypedDict, total=False):
    """The keys of a Hugging Face ``config.json`` (or its ``text_config``) that this module reads;
    a size given as null counts as not given."""

    text_config: HFConfig
    architectures: list[str]
    model_type: str
    quantization_config: QuantizationConfig
    # sizes
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int | None
    head_dim: int | None
    vocab_size: int
    tie_word_embeddings: bool
    intermediate_size: int | None
    intermediate_size_mlp: int | None
    # layer kinds
    layer_types: list[str]
    hybrid_override_pattern: str  # Nemotron-H: one letter per layer
    layers_block_type: list[str]
    hybrid_layer_pattern: list[int]  # MiMo-V2: 1 = sliding window, 0 = full
    block_configs: list[BlockConfig]
    mlp_only_layers: list[int]
    enable_moe_block: bool
    first_k_dense_replace: int | None
    interleave_moe_layer_step: int | None
    decoder_sparse_step: int | None
    # sliding window
    use_sliding_window: bool
    sliding_window: int | None
    max_window_layers: int | None
    swa_num_key_value_heads: int | None
    swa_head_dim: int | None
    compress_ratios: list[float]  # DeepSeek V4
    # MoE
    n_routed_experts: int | None
    num_experts: int | None
    num_local_experts: int | None
    num_experts_per_tok: int | None
    num_experts_per_token: int | None
    top_k_experts: int | None
    moe_topk: int | None
    moe_intermediate_size: int | None
    routed_expert_hidden_size: int | None
    shared_expert_intermediate_size: int | None
    moe_shared_expert_intermediate_size: int | None
    n_shared_experts: int | None
    num_shared_experts: int | None
    moe_latent_size: int | None
    # MLA, low-rank query / output
    kv_lora_rank: int | None
    q_lora_rank: int | None
    o_lora_rank: int | None
    o_groups: int | None
    qk_rope_head_dim: int | None
    qk_nope_head_dim: int | None
    v_head_dim: int | None
    attn_output_gate: bool
    # MLP activation
    mlp_hidden_act: str
    hidden_act: str
    hidden_activation: str
    # linear attention (gated delta net) and Mamba-2
    linear_attn_config: LinearAttnConfig
    linear_num_key_heads: int | None
    linear_key_head_dim: int | None
    linear_num_value_heads: int | None
    linear_value_head_dim: int | None
    mamba_num_heads: int | None
    mamba_head_dim: int | None
    ssm_state_size: int | None
    n_groups: int | None
    mamba_ssm_cache_dtype: str
    mamba_ssm_dtype: str


@dataclass(frozen=True)
class ModelConfig:
    architecture: str
    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate_size: int  # dense MLP
    dense_layers: int  # layers with a dense MLP only (MoE models: those without a MoE block)
    attention: str  # mha | gqa | mla | sliding (some layers windowed) | hybrid (linear attention / Mamba layers)
    vocab_size: int
    tied_embeddings: bool
    quantization: str  # fp8 | mxfp4 | ... | none (the checkpoint's dtype)
    total_params: float  # [parameters]
    active_params: float  # per token [parameters]
    kv_elements_per_token: float  # per context token, layers whose cache grows with the context [elements]
    experts: int = 0  # routed experts; 0: dense
    experts_per_token: int = 0
    shared_experts: int = 0
    expert_intermediate_size: int = 0
    expert_params: float = 0.0  # routed experts, all MoE layers [parameters]
    kv_lora_rank: int | None = None
    q_lora_rank: int | None = None
    rope_head_dim: int = 0
    nope_head_dim: int = 0
    v_head_dim: int = 0
    sliding_window: int | None = None
    window_kv_elements_per_token: float = 0.0  # sliding-window layers, held for at most sliding_window tokens
    state_bytes_per_request: float = 0.0  # linear-attention / Mamba recurrent state [bytes]

    @property
    def moe(self) -> bool:
        return self.experts > 0

    def kv_elements_per_request(self, context: float) -> float:
        """KV-cache elements of one request holding ``context`` tokens: full layers at the whole context,
        sliding-window layers at most their window."""
        held = min(context, self.sliding_window) if self.sliding_window else context
        return context * self.kv_elements_per_token + held * self.window_kv_elements_per_token


POSITIVE = frozenset(
    (
        "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size",
        "sliding_window",
    )
)  # fmt: skip  # sizes a model cannot have zero of


def _int(cfg: HFConfig | LinearAttnConfig, *keys: str, default: int | None = None, path: Path | None = None) -> int:
    """The first of ``keys`` the config gives (null: not given), else ``default``; a value that is not a
    whole number, is negative, or is zero where :data:`POSITIVE` needs a size is refused by key."""
    for k in keys:
        v = cfg.get(k)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            raise ScenarioError(f"{path}: config.json {k} is {v!r}, not a whole number")
        if v < 0 or (v == 0 and k in POSITIVE):
            need = "positive" if k in POSITIVE else "zero or more"
            raise ScenarioError(f"{path}: config.json {k} is {v}; it must be {need}")
        return v
    if default is not None:
        return default
    raise ScenarioError(f"{path}: config.json lacks {' / '.join(keys)}")


def _opt(cfg: HFConfig, key: str, path: Path | None = None) -> int | None:
    """An optional size: None where the config gives none (null or 0); refused as :func:`_int` refuses."""
    return _int(cfg, key, default=0, path=path) or None


def _window(cfg: HFConfig, path: Path | None = None) -> int | None:
    """The sliding window [tokens], None where the config has none or turns it off (``use_sliding_window``)."""
    if cfg.get("use_sliding_window") is False or cfg.get("sliding_window") is None:
        return None
    return _int(cfg, "sliding_window", path=path)


# Nemotron-H's layer pattern: one letter per layer, each layer a mixer or an MLP
_PATTERN = {"M": ("mamba", None), "*": ("full", None), "E": (None, "moe"), "-": (None, "dense")}
_BLOCK_TYPES = {"mamba": "M", "attention": "*", "moe": "E", "mlp": "-"}


def _layers(cfg: HFConfig, path: Path | None) -> list[tuple[str | None, str | None]]:
    """(mixer, MLP) per layer: mixer full | sliding | linear | mamba | None; MLP dense | moe |
    dense+moe | None."""
    pattern = cfg.get("hybrid_override_pattern")
    if not isinstance(pattern, str) and isinstance(cfg.get("layers_block_type"), list):
        pattern = "".join(_BLOCK_TYPES.get(str(t), "?") for t in cfg["layers_block_type"])
    if isinstance(pattern, str):
        bad = sorted(set(pattern) - set(_PATTERN))
        if bad:
            raise ScenarioError(f"{path}: config.json layer pattern has unknown layer kinds {bad}")
        return [_PATTERN[c] for c in pattern]
    layers = _int(cfg, "num_hidden_layers", path=path)
    types = (
        _per_layer(cfg["layer_types"], "layer_types", layers, path) if isinstance(cfg.get("layer_types"), list) else []
    )
    kda = (
        (cfg.get("linear_attn_config") or {}).get("kda_layers")
        if isinstance(cfg.get("linear_attn_config"), dict)
        else None
    )
    if isinstance(kda, list):  # Kimi linear: 1-based indices of its linear-attention layers
        types = ["linear_attention" if i + 1 in kda else "full_attention" for i in range(layers)]
    window = _window(cfg, path)
    if not types and isinstance(cfg.get("hybrid_layer_pattern"), list):  # MiMo-V2: 1 = sliding window, 0 = full
        marks = _per_layer(cfg["hybrid_layer_pattern"], "hybrid_layer_pattern", layers, path)
        if any(v not in (0, 1) for v in marks):
            raise ScenarioError(
                f"{path}: config.json hybrid_layer_pattern holds {sorted(set(marks) - {0, 1})}; 0 or 1 per layer"
            )
        types = ["sliding_attention" if v == 1 else "full_attention" for v in marks]
    if not types and window is not None and cfg.get("use_sliding_window") is True:
        # Qwen2 family: the layers from max_window_layers on are windowed
        first = _int(cfg, "max_window_layers", default=0, path=path)
        types = ["sliding_attention" if i >= first else "full_attention" for i in range(layers)]
    mixers = []
    for i in range(layers):
        t = str(types[i]) if i < len(types) else ""
        if "linear" in t:
            mixers.append("linear")
        elif window is not None and ("sliding" in t or not types):  # Mistral: a window and no layer types, all
            mixers.append("sliding")
        else:
            mixers.append("full")
    experts = _int(cfg, "n_routed_experts", "num_experts", "num_local_experts", default=0, path=path)
    first_dense = _int(cfg, "first_k_dense_replace", default=0, path=path)
    step = _int(cfg, "interleave_moe_layer_step", "decoder_sparse_step", default=1, path=path) or 1
    only_mlp = set(cfg.get("mlp_only_layers") or [])
    mlps = []
    for i in range(layers):
        moe = experts > 0 and i >= first_dense and (i + 1) % step == 0 and i not in only_mlp
        mlps.append(("dense+moe" if cfg.get("enable_moe_block") else "moe") if moe else "dense")
    return list(zip(mixers, mlps, strict=True))


_T = TypeVar("_T")


def _per_layer(v: list[_T], key: str, layers: int, path: Path | None) -> list[_T]:
    """A per-layer list of the config (``v``, its ``key``): one entry per layer, or refused."""
    if len(v) != layers:
        raise ScenarioError(f"{path}: config.json {key} has {len(v)} entries for {layers} layers (num_hidden_layers)")
    return v


def _ffn_width(mult: float, hidden: int) -> int:
    """DeciLM's MLP width for an ``ffn_mult``: 2/3 of mult x hidden, rounded up to 256."""
    return -(-int(2 * mult * hidden / 3) // 256) * 256


def _blocks(cfg: HFConfig, hidden: int, heads: int, head_dim: int, path: Path | None) -> tuple[float, float, int]:
    """(parameters without embeddings, KV elements per token, KV heads of the first attention layer) of a
    DeciLM / Nemotron-NAS model, whose ``block_configs`` give each layer its own attention and MLP."""
    params = kv = 0.0
    first_kv = 0
    for i, block in enumerate(cfg["block_configs"]):
        att, ffn = block.get("attention") or {}, block.get("ffn") or {}
        if att.get("replace_with_linear"):
            params += hidden * hidden
        elif not att.get("no_op"):
            group = att.get("n_heads_in_group")
            if not isinstance(group, int) or group <= 0:
                raise ScenarioError(f"{path}: block_configs[{i}].attention lacks n_heads_in_group")
            kvh = heads // group
            first_kv = first_kv or kvh
            params += 2 * hidden * heads * head_dim + 2 * hidden * kvh * head_dim
            kv += 2 * kvh * head_dim
        if ffn.get("replace_with_linear"):
            params += hidden * hidden
        elif not ffn.get("no_op"):
            mult = ffn.get("ffn_mult")
            if not isinstance(mult, (int, float)) or mult <= 0:
                raise ScenarioError(f"{path}: block_configs[{i}].ffn lacks ffn_mult")
            params += 3 * hidden * _ffn_width(mult, hidden)
    return params, kv, first_kv or heads


def normalise(cfg: HFConfig, path: Path | None = None) -> ModelConfig:
    """The fields of a parsed ``config.json`` that matter (text model: ``text_config`` when nested)."""
    if isinstance(cfg.get("text_config"), dict):
        cfg = {**cfg, **cfg["text_config"]}
    hidden = _int(cfg, "hidden_size", path=path)
    if isinstance(cfg.get("block_configs"), list) and cfg["block_configs"]:
        return _nas(cfg, hidden, path)
    per_layer = _layers(cfg, path)
    layers = len(per_layer)
    if not layers:
        raise ScenarioError(f"{path}: config.json has no layers")
    heads = _int(cfg, "num_attention_heads", path=path)
    kv_heads = _int(cfg, "num_key_value_heads", default=heads, path=path)
    head_dim = _int(cfg, "head_dim", default=hidden // heads, path=path)
    experts = _int(cfg, "n_routed_experts", "num_experts", "num_local_experts", default=0, path=path)
    moe_layers = sum(1 for _, m in per_layer if m and "moe" in m)
    dense_mlp_layers = sum(1 for _, m in per_layer if m and "dense" in m)
    inter = _int(cfg, "intermediate_size_mlp", "intermediate_size", default=0, path=path)
    if dense_mlp_layers and not inter:
        raise ScenarioError(f"{path}: config.json lacks intermediate_size (its dense MLP layers need it)")
    per_token = _int(
        cfg, "num_experts_per_tok", "num_experts_per_token", "top_k_experts", "moe_topk", default=0, path=path
    )
    if moe_layers and not per_token:
        raise ScenarioError(f"{path}: config.json lacks num_experts_per_tok (experts each token routes to)")
    if moe_layers and per_token > experts:
        raise ScenarioError(f"{path}: config.json routes each token to {per_token} experts of {experts}")
    expert_inter = (
        _int(cfg, "moe_intermediate_size", "routed_expert_hidden_size", "intermediate_size", default=0, path=path)
        if moe_layers
        else 0
    )
    if moe_layers and not expert_inter:
        raise ScenarioError(f"{path}: config.json lacks moe_intermediate_size")
    shared_size = _int(
        cfg, "shared_expert_intermediate_size", "moe_shared_expert_intermediate_size", default=0, path=path
    )
    shared = (
        _int(cfg, "n_shared_experts", "num_shared_experts", default=1 if shared_size else 0, path=path)
        if moe_layers
        else 0
    )
    if moe_layers and not shared and "llama4" in str(cfg.get("model_type", "")):
        shared = 1  # Llama 4: every MoE layer has one shared expert of the experts' size
    shared_size = shared_size or expert_inter
    dense_layers = sum(1 for _, m in per_layer if m == "dense")
    kv_lora = _opt(cfg, "kv_lora_rank", path)
    q_lora = _opt(cfg, "q_lora_rank", path)
    o_lora = _opt(cfg, "o_lora_rank", path)
    rope = _int(cfg, "qk_rope_head_dim", default=0, path=path)
    nope = _int(cfg, "qk_nope_head_dim", default=head_dim, path=path)
    v_dim = _int(cfg, "v_head_dim", default=head_dim, path=path)
    window = _window(cfg, path)
    mixers = {m for m, _ in per_layer if m}
    if not mixers:
        raise ScenarioError(f"{path}: config.json has no attention or recurrent layer")
    if kv_lora:
        attention = "mla"
    elif mixers & {"linear", "mamba"}:
        attention = "hybrid"
    elif "sliding" in mixers:
        attention = "sliding"
    else:
        attention = "gqa" if kv_heads < heads else "mha"
    act = str(cfg.get("mlp_hidden_act") or cfg.get("hidden_act") or cfg.get("hidden_activation") or "silu")
    mats = 2 if act in NON_GATED else 3  # up + down, or gate + up + down

    # attention (softmax) layers
    q_out = heads * (nope + rope) if kv_lora else heads * head_dim
    q_out *= 2 if cfg.get("attn_output_gate") else 1
    q = hidden * q_lora + q_lora * q_out if q_lora else hidden * q_out
    if kv_lora:
        kv = hidden * (kv_lora + rope) + kv_lora * heads * (nope + v_dim)
        o_in = heads * v_dim
        kv_per_layer = kv_lora + rope
    else:
        kv = 2 * hidden * kv_heads * head_dim
        o_in = heads * head_dim
        kv_per_layer = 2 * kv_heads * head_dim
    # MiMo-V2: its sliding-window layers have their own KV heads
    swa_heads, swa_dim = (
        _int(cfg, "swa_num_key_value_heads", default=0, path=path),
        _int(cfg, "swa_head_dim", default=head_dim, path=path),
    )
    window_kv_per_layer = 2 * swa_heads * swa_dim if swa_heads and not kv_lora else kv_per_layer
    # DeepSeek V4: beside its window, a layer caches one compressed entry per `ratio` tokens (0: none)
    ratios = None
    if cfg.get("compress_ratios") is not None:
        ratios = cfg["compress_ratios"]
        if not isinstance(ratios, list) or len(ratios) < layers:
            raise ScenarioError(f"{path}: config.json compress_ratios is not a list of one ratio per layer ({layers})")
        bad = [r for r in ratios if isinstance(r, bool) or not isinstance(r, int | float) or not r >= 0]
        if bad:
            raise ScenarioError(f"{path}: config.json compress_ratios holds {bad[0]!r}; a ratio is 0 (none) or more")
    groups = _int(cfg, "o_groups", default=1, path=path)
    o = o_in * o_lora + groups * o_lora * hidden if o_lora else o_in * hidden
    attn = q + kv + o
    # linear attention (gated delta net) and Mamba-2 layers: a fixed recurrent state per request, no KV cache
    kimi_cfg = cfg.get("linear_attn_config")
    kimi: LinearAttnConfig = kimi_cfg if isinstance(kimi_cfg, dict) else {}
    kh, kd = _int(kimi, "num_heads", default=0, path=path), _int(kimi, "head_dim", default=0, path=path)
    nk, dk = (
        _int(cfg, "linear_num_key_heads", default=kh, path=path),
        _int(cfg, "linear_key_head_dim", default=kd, path=path),
    )
    nv, dv = (
        _int(cfg, "linear_num_value_heads", default=kh, path=path),
        _int(cfg, "linear_value_head_dim", default=kd, path=path),
    )
    linear = hidden * (2 * nk * dk + 2 * nv * dv + 2 * nv) + nv * dv * hidden
    linear_state = nv * dk * dv
    mh, md = _int(cfg, "mamba_num_heads", default=0, path=path), _int(cfg, "mamba_head_dim", default=0, path=path)
    ds, ng = _int(cfg, "ssm_state_size", default=0, path=path), _int(cfg, "n_groups", default=1, path=path)
    mamba = hidden * (2 * mh * md + 2 * ng * ds + mh) + mh * md * hidden
    mamba_state = mh * md * ds
    mixer_params = {"full": attn, "sliding": attn, "linear": linear, "mamba": mamba, None: 0}
    state_dtype = str(cfg.get("mamba_ssm_cache_dtype") or cfg.get("mamba_ssm_dtype") or "float32")
    state_bytes = 2 if "16" in state_dtype else 4
    # MLPs; latent MoE (Nemotron 3): experts work in a smaller width, projected in and out
    latent = _opt(cfg, "moe_latent_size", path)
    expert = mats * (latent or hidden) * expert_inter
    moe_fixed = hidden * experts + shared * mats * hidden * shared_size + (2 * hidden * latent if latent else 0)

    total = active = routed = kv_elems = window_elems = state = 0.0
    for i, (mixer, mlp) in enumerate(per_layer):
        total += mixer_params[mixer]
        if mixer == "full":
            kv_elems += kv_per_layer
        elif mixer == "sliding":
            window_elems += window_kv_per_layer
            r = ratios[i] if ratios else 0
            kv_elems += kv_per_layer / r if r > 0 else 0.0
        state += {"linear": linear_state, "mamba": mamba_state}.get(mixer, 0) * state_bytes
        if mlp and "dense" in mlp:
            total += mats * hidden * inter
        if mlp and "moe" in mlp:
            routed += experts * expert
            total += moe_fixed
            active += per_token * expert
    active += total
    total += routed
    if "linear" in mixers and not linear_state:
        raise ScenarioError(
            f"{path}: config.json has linear-attention layers but lacks linear_num_value_heads / linear_key_head_dim / linear_value_head_dim"
        )
    if "mamba" in mixers and not mamba_state:
        raise ScenarioError(
            f"{path}: config.json has Mamba layers but lacks mamba_num_heads / mamba_head_dim / ssm_state_size"
        )
    return _config(
        cfg,
        path,
        layers=layers,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=inter,
        experts=experts if moe_layers else 0,
        experts_per_token=per_token if moe_layers else 0,
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
        total_params=total,
        active_params=active,
        kv_elements_per_token=float(kv_elems),
        window_kv_elements_per_token=float(window_elems),
        expert_params=float(routed),
        state_bytes_per_request=float(state),
    )


def _nas(cfg: HFConfig, hidden: int, path: Path | None) -> ModelConfig:
    """A dense model whose layers differ (DeciLM / Nemotron-NAS ``block_configs``)."""
    heads = _int(cfg, "num_attention_heads", path=path)
    head_dim = _int(cfg, "head_dim", default=hidden // heads, path=path)
    params, kv, kv_heads = _blocks(cfg, hidden, heads, head_dim, path)
    layers = len(cfg["block_configs"])
    attention = "gqa" if kv_heads < heads else "mha"
    return _config(
        cfg, path, layers=layers, heads=heads, kv_heads=kv_heads, head_dim=head_dim, intermediate_size=0,
        dense_layers=layers, attention=attention, total_params=params, active_params=params,
        kv_elements_per_token=kv, nope_head_dim=head_dim, v_head_dim=head_dim,
    )  # fmt: skip


def _config(
    cfg: HFConfig, path: Path | None, *, total_params: float, active_params: float, **sizes: Any
) -> ModelConfig:
    """The normalised config: ``sizes`` as counted, parameters without embeddings (added here)."""
    hidden = _int(cfg, "hidden_size", path=path)
    vocab = _int(cfg, "vocab_size", path=path)
    tied = bool(cfg.get("tie_word_embeddings", False))
    embed = vocab * hidden * (1 if tied else 2)
    if not (math.isfinite(total_params) and total_params > 0):
        raise ScenarioError(f"{path}: config.json gives no positive parameter count")
    return ModelConfig(
        architecture=str((cfg.get("architectures") or ["unknown"])[0]),
        hidden_size=hidden,
        vocab_size=vocab,
        tied_embeddings=tied,
        quantization=str((cfg.get("quantization_config") or {}).get("quant_method") or "none"),
        total_params=float(total_params + embed),
        active_params=float(active_params + embed),
        **sizes,
    )


def read_model_config(path: Path) -> ModelConfig:
    data = read_json(Path(path), "model config (config.json)")
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a config.json is a JSON object")
    return normalise(cast(HFConfig, data), Path(path))  # the keys read are checked where read
