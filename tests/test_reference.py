"""The shipped reference set and the config.json normaliser (issue 14, item 4)."""

from __future__ import annotations

import pytest

from planner.throughput.modelcfg import normalise
from planner.throughput.reference import reference_configs, reference_dir, reference_points


def test_the_reference_set_ships_with_its_licence():
    points = reference_points()
    assert len(points) == 2264
    assert {p.model for p in points} == set(reference_configs())
    assert {p.sku for p in points} == {"h100-sxm", "h200-sxm", "b200-sxm", "b300-sxm", "gb200-nvl72", "gb300-nvl72"}
    assert "Apache License" in (reference_dir() / "LICENSE-aiconfigurator.txt").read_text()
    assert "aiconfigurator" in (reference_dir() / "README.md").read_text()
    assert all(p.tokens_per_s_per_gpu > 0 and p.interactivity > 0 for p in points)


@pytest.mark.parametrize(
    ("model", "attention", "experts", "total_b", "active_b"),
    [
        # published sizes: DeepSeek-R1 671B / 37B active; Qwen3-235B-A22B; gpt-oss-120b 117B (5.1B active
        # without embeddings); Llama 3.1 8B; Qwen3-32B 32.8B; MiniMax-M2.5 about 230B / 10B active
        ("deepseek-r1", "mla", 256, 671, 37.5),
        ("qwen3-235b-a22b", "gqa", 128, 235, 22.2),
        ("gpt-oss-120b", "sliding", 128, 117, 5.7),
        ("llama-3.1-8b", "gqa", 0, 8.0, 8.0),
        ("qwen3-32b", "gqa", 0, 32.8, 32.8),
        ("minimax-m2.5", "gqa", 256, 229, 11.0),
    ],
)
def test_configs_normalise_to_their_published_sizes(model, attention, experts, total_b, active_b):
    m = reference_configs()[model]
    assert m.attention == attention and m.experts == experts
    assert m.total_params / 1e9 == pytest.approx(total_b, rel=0.02)
    assert m.active_params / 1e9 == pytest.approx(active_b, rel=0.03)


def test_mla_caches_its_latent_and_gqa_its_heads():
    ds = reference_configs()["deepseek-r1"]
    assert ds.kv_elements_per_token == 61 * (512 + 64)
    llama = reference_configs()["llama-3.1-8b"]
    assert llama.kv_elements_per_token == 32 * 2 * 8 * 128


def test_a_config_without_a_core_field_is_refused():
    with pytest.raises(Exception, match="num_hidden_layers"):
        normalise({"hidden_size": 10, "num_attention_heads": 2, "intermediate_size": 4, "vocab_size": 5})


# Architectures beyond the reference models: the keys that set their size, as in their published config.json
# files, and their published sizes (total / active parameters, billions; vision towers not counted).
QWEN35_397B = {
    "architectures": ["Qwen3_5MoeForConditionalGeneration"],
    "text_config": {
        "hidden_size": 4096, "num_hidden_layers": 60, "num_attention_heads": 32, "num_key_value_heads": 2,
        "head_dim": 256, "attn_output_gate": True, "layer_types": (["linear_attention"] * 3 + ["full_attention"]) * 15,
        "linear_num_key_heads": 16, "linear_num_value_heads": 64, "linear_key_head_dim": 128,
        "linear_value_head_dim": 128, "num_experts": 512, "num_experts_per_tok": 10, "moe_intermediate_size": 1024,
        "shared_expert_intermediate_size": 1024, "mlp_only_layers": [], "vocab_size": 248320,
        "mamba_ssm_dtype": "float32",
    },
    "tie_word_embeddings": False,
}  # fmt: skip
NEMOTRON3_NANO = {
    "architectures": ["NemotronHForCausalLM"], "hidden_size": 2688, "num_hidden_layers": 52,
    "hybrid_override_pattern": "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME", "num_attention_heads": 32,
    "num_key_value_heads": 2, "head_dim": 128, "intermediate_size": 1856, "moe_intermediate_size": 1856,
    "moe_shared_expert_intermediate_size": 3712, "n_routed_experts": 128, "n_shared_experts": 1,
    "num_experts_per_tok": 6, "mlp_hidden_act": "relu2", "mamba_num_heads": 64, "mamba_head_dim": 64,
    "ssm_state_size": 128, "n_groups": 8, "mamba_ssm_cache_dtype": "float32", "vocab_size": 131072,
}  # fmt: skip
NEMOTRON3_SUPER = NEMOTRON3_NANO | {
    "hidden_size": 4096, "num_hidden_layers": 88,
    "hybrid_override_pattern": "MEMEMEM*EMEMEMEM*EMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEM*EMEMEMEME",
    "intermediate_size": 2688, "moe_intermediate_size": 2688, "moe_latent_size": 1024,
    "moe_shared_expert_intermediate_size": 5376, "n_routed_experts": 512, "num_experts_per_tok": 22,
    "mamba_num_heads": 128,
}  # fmt: skip
LLAMA4_MAVERICK = {
    "architectures": ["Llama4ForConditionalGeneration"],
    "text_config": {
        "model_type": "llama4_text", "hidden_size": 5120, "num_hidden_layers": 48, "num_attention_heads": 40,
        "num_key_value_heads": 8, "head_dim": 128, "interleave_moe_layer_step": 2, "intermediate_size": 8192,
        "intermediate_size_mlp": 16384, "num_local_experts": 128, "num_experts_per_tok": 1, "vocab_size": 202048,
    },
}  # fmt: skip
GEMMA4_26B = {
    "architectures": ["Gemma4ForConditionalGeneration"],
    "text_config": {
        "hidden_size": 2816, "num_hidden_layers": 30, "num_attention_heads": 16, "num_key_value_heads": 8,
        "head_dim": 256, "intermediate_size": 2112, "enable_moe_block": True, "moe_intermediate_size": 704,
        "num_experts": 128, "top_k_experts": 8, "sliding_window": 1024, "vocab_size": 262144,
        "layer_types": (["sliding_attention"] * 5 + ["full_attention"]) * 5, "tie_word_embeddings": True,
        "hidden_activation": "gelu_pytorch_tanh",
    },
}  # fmt: skip
DEEPSEEK_V4_FLASH = {
    "architectures": ["DeepseekV4ForCausalLM"], "hidden_size": 4096, "num_hidden_layers": 43,
    "num_attention_heads": 64, "num_key_value_heads": 1, "head_dim": 512, "q_lora_rank": 1024, "o_lora_rank": 1024,
    "o_groups": 8, "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 6,
    "moe_intermediate_size": 2048, "vocab_size": 129280,
}  # fmt: skip
_NAS_BLOCK = {"attention": {"n_heads_in_group": 8, "no_op": False}, "ffn": {"ffn_mult": 5.25, "no_op": False}}
_NAS_SKIP = {"attention": {"n_heads_in_group": None, "no_op": True}, "ffn": {"ffn_mult": 1.3125, "no_op": False}}
NEMOTRON_NAS = {
    "architectures": ["DeciLMForCausalLM"], "hidden_size": 8192, "num_hidden_layers": 80, "num_attention_heads": 64,
    "num_key_value_heads": None, "intermediate_size": None, "vocab_size": 128256,
    "block_configs": [_NAS_BLOCK] * 49 + [_NAS_SKIP] * 31,
}  # fmt: skip


@pytest.mark.parametrize(
    ("cfg", "attention", "total_b", "active_b"),
    [
        (QWEN35_397B, "hybrid", 397, 17),  # Qwen3.5-397B-A17B: gated delta-net + gated attention, no dense MLP
        (NEMOTRON3_NANO, "hybrid", 31.6, 3.6),  # Nemotron 3 Nano 30B-A3B: Mamba-2 / MoE / attention, relu2 experts
        (NEMOTRON3_SUPER, "hybrid", 120, 12.7),  # Nemotron 3 Super 120B-A12B: latent MoE
        (LLAMA4_MAVERICK, "gqa", 400, 17),  # every other layer MoE, one shared expert
        (GEMMA4_26B, "sliding", 25.2, 3.8),  # a dense MLP and a MoE block in every layer (26B with vision)
        (DEEPSEEK_V4_FLASH, "gqa", 284, 13),  # low-rank query and grouped low-rank output
        # per-layer block configs, two kinds (the real model has more): by hand, 49 x (attention 151.0 M + MLP
        # 3 x 8192 x 28672) + 31 x MLP 3 x 8192 x 7168 + embeddings 2 x 128256 x 8192 = 49.49 B
        (NEMOTRON_NAS, "gqa", 49.49, 49.49),
    ],
)
def test_other_architectures_normalise_to_their_published_sizes(cfg, attention, total_b, active_b):
    m = normalise(cfg)
    assert m.attention == attention
    assert m.total_params / 1e9 == pytest.approx(total_b, rel=0.03)
    assert m.active_params / 1e9 == pytest.approx(active_b, rel=0.05)


def test_recurrent_layers_hold_a_fixed_state_and_no_kv_cache():
    m = normalise(NEMOTRON3_NANO)
    assert m.kv_elements_per_token == 6 * 2 * 2 * 128  # only the six attention layers cache keys and values
    assert m.state_bytes_per_request == 23 * 64 * 64 * 128 * 4  # 23 Mamba layers, fp32 state
    q = normalise(QWEN35_397B)
    assert q.kv_elements_per_token == 15 * 2 * 2 * 256
    assert q.state_bytes_per_request == 45 * 64 * 128 * 128 * 4
    assert q.expert_params == pytest.approx(60 * 512 * 3 * 4096 * 1024)


QWEN2_STYLE = {
    "architectures": ["Qwen2ForCausalLM"], "hidden_size": 1024, "num_hidden_layers": 8, "num_attention_heads": 8,
    "num_key_value_heads": 2, "intermediate_size": 2048, "vocab_size": 1000, "sliding_window": 4096,
    "max_window_layers": 6,
}  # fmt: skip


def test_sliding_window_layers_hold_at_most_their_window():
    oss = reference_configs()["gpt-oss-120b"]  # 36 layers, every other one windowed at 128 tokens
    per_layer = 2 * 8 * 64
    assert (oss.kv_elements_per_token, oss.window_kv_elements_per_token) == (18 * per_layer, 18 * per_layer)
    assert oss.kv_elements_per_request(8192) == 18 * per_layer * (8192 + 128)
    assert oss.kv_elements_per_request(100) == 36 * per_layer * 100  # shorter than the window: every layer holds all
    gemma = normalise(GEMMA4_26B)  # five windowed layers in six
    assert gemma.kv_elements_per_request(8192) == 5 * 2 * 8 * 256 * 8192 + 25 * 2 * 8 * 256 * 1024
    # Qwen2 family: the window is off unless use_sliding_window, then from max_window_layers on
    per_layer = 2 * 2 * 128
    off = normalise({**QWEN2_STYLE, "use_sliding_window": False})
    assert off.attention == "gqa" and off.kv_elements_per_request(8192) == 8 * per_layer * 8192
    on = normalise({**QWEN2_STYLE, "use_sliding_window": True})
    assert on.attention == "sliding"
    assert on.kv_elements_per_request(8192) == 6 * per_layer * 8192 + 2 * per_layer * 4096
    mistral = normalise(QWEN2_STYLE)  # a window and no layer types: every layer
    assert mistral.kv_elements_per_request(8192) == 8 * per_layer * 4096
    # MiMo-V2: a pattern of windowed layers, with their own KV heads
    mimo = normalise(
        {**QWEN2_STYLE, "sliding_window": 128, "hybrid_layer_pattern": [0, 1, 1, 1] * 2, "swa_num_key_value_heads": 4}
    )
    assert mimo.kv_elements_per_request(8192) == 2 * per_layer * 8192 + 6 * 2 * 4 * 128 * 128
    # DeepSeek V4: each layer a 128-token window and one compressed entry per `ratio` tokens (0: none)
    v4 = normalise({**DEEPSEEK_V4_FLASH, "sliding_window": 128, "compress_ratios": [0, 0] + [4, 128] * 20 + [4]})
    per_layer = 2 * 1 * 512
    assert v4.kv_elements_per_token == pytest.approx(per_layer * (21 / 4 + 20 / 128))
    assert v4.kv_elements_per_request(8192) == pytest.approx(per_layer * (43 * 128 + 8192 * (21 / 4 + 20 / 128)))


@pytest.mark.parametrize(
    ("cfg", "field"),
    [
        ({**NEMOTRON3_NANO, "hybrid_override_pattern": "MEX"}, "unknown layer kinds"),
        ({**NEMOTRON3_NANO, "mamba_num_heads": None}, "mamba_num_heads"),
        ({**DEEPSEEK_V4_FLASH, "num_experts_per_tok": None}, "num_experts_per_tok"),
        ({**DEEPSEEK_V4_FLASH, "first_k_dense_replace": 1}, "intermediate_size"),
        ({**DEEPSEEK_V4_FLASH, "num_experts_per_tok": 300}, "routes each token to 300 experts of 256"),
        ({**DEEPSEEK_V4_FLASH, "num_attention_heads": 0}, "num_attention_heads is 0; it must be positive"),
        ({**DEEPSEEK_V4_FLASH, "num_key_value_heads": 0}, "num_key_value_heads is 0"),
        ({**DEEPSEEK_V4_FLASH, "hidden_size": -4096}, "hidden_size is -4096"),
        ({**DEEPSEEK_V4_FLASH, "num_hidden_layers": "43"}, "num_hidden_layers is '43', not a whole number"),
        ({**DEEPSEEK_V4_FLASH, "moe_intermediate_size": 2048.5}, "moe_intermediate_size is 2048.5"),
        ({**DEEPSEEK_V4_FLASH, "q_lora_rank": -1}, "q_lora_rank is -1; it must be zero or more"),
        ({**DEEPSEEK_V4_FLASH, "sliding_window": 0}, "sliding_window is 0; it must be positive"),
        ({**DEEPSEEK_V4_FLASH, "sliding_window": 128, "compress_ratios": [4] * 40}, "one ratio per layer"),
        ({**DEEPSEEK_V4_FLASH, "sliding_window": 128, "compress_ratios": [4, "x"] * 22}, "holds 'x'"),
        ({**QWEN2_STYLE, "layer_types": ["full_attention"] * 7}, "layer_types has 7 entries for 8 layers"),
        ({**QWEN2_STYLE, "hybrid_layer_pattern": [0, 2] * 4}, r"hybrid_layer_pattern holds \[2\]"),
        (
            {**NEMOTRON_NAS, "block_configs": [{"attention": {"no_op": False}, "ffn": {"ffn_mult": 1.0}}]},
            "n_heads_in_group",
        ),
    ],
)
def test_an_architecture_missing_its_sizes_is_refused_by_key(cfg, field):
    with pytest.raises(Exception, match=field):
        normalise(cfg)
