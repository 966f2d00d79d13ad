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
