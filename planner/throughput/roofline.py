"""A per-GPU serving roofline: the throughput a SKU's memory, compute and scale-up links allow.

For a model (its normalised ``config.json``), a precision, a request shape (ISL/OSL) and an
interactivity target ``x`` [tok/s/user], on a deployment of ``g`` GPUs inside one scale-up
domain (tensor / expert parallel across them):

* **decode**: one step must take at most ``1/x`` seconds. A step reads the weights it touches
  (dense layers always; of a MoE layer the experts the batch's tokens route to, in expectation
  ``E * (1 - (1 - k/E)^b)`` of ``E``) and the batch's KV cache (``b`` requests at the mean context
  ``ISL + OSL/2``, of which sliding-window layers hold at most their window; and a linear-attention /
  Mamba model's recurrent state, a fixed size per request)
  from HBM at the HBM bandwidth, and does ``2 * active parameters`` FLOPs per token
  at the dense peak of the precision; the larger of the two, plus two all-reduces per layer over
  the scale-up links (``2 * b * hidden`` bytes each way and a fixed 8 us latency), is the step time.
  The batch ``b`` is the largest that meets the step time and fits: weights plus KV within 90 %
  of the domain's HBM. Output tokens/s per GPU = ``b * x / g``: every user at exactly ``x``.
  Where HBM caps the batch (low ``x``) this rises with ``x``; it is used only as a ratio between
  SKUs at the same ``x``, where that cancels. (Counting the faster steps of a capped batch instead,
  ``b / step / g``, is monotone and measured the same: held-out median error 35 % either way.)
* **prefill**: ``ISL * 2 * active parameters`` FLOPs per request at half the dense peak, sharing
  the GPU's time with decode.
* the result is input + output tokens/s per GPU (the basis of every curve here), the best over
  ``g`` in 1, 2, 4, 8, ... up to the domain, and 2 or 4 domains (multi-node serving, as in the
  reference set's disaggregated and wide-EP recipes; the same all-reduce model, no extra link
  cost), for every model: allowing them only for weights one domain cannot hold raised the
  held-out median error from 35 % to 54 % (``planner throughput accuracy``).

Weights are stored at the precision (FP4: 4.5 bits with block scales), the KV cache at 8 bits
(16 for BF16). A GPU without FP4 tensor cores (Hopper) runs FP4 weights at its BF16 peak
(weight-only quantisation). Absolute numbers are optimistic (no kernel, scheduling or
framework losses); the estimator uses ratios between SKUs of the same model, shape and
precision, where those losses largely cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from planner.catalog.schema import CatalogSku
from planner.errors import ScenarioError
from planner.throughput.modelcfg import ModelConfig

WEIGHT_BYTES = {"fp4": 0.5625, "fp8": 1.0, "bf16": 2.0}
KV_BYTES = {"fp4": 1.0, "fp8": 1.0, "bf16": 2.0}
ALIASES = {
    **dict.fromkeys(("nvfp4", "mxfp4", "fp4_e2m1", "w4a4"), "fp4"),
    # FP8 under other names (INT8 is not one of them: Blackwell Ultra cut its INT8 rate)
    **dict.fromkeys(("fp8_block", "fp8-block", "fp8_e4m3", "e4m3", "float8"), "fp8"),
    **dict.fromkeys(("fp16", "float16", "bfloat16", "half"), "bf16"),
}
HBM_USABLE = 0.9  # share of HBM for weights + KV cache
PREFILL_EFFICIENCY = 0.5  # share of the dense peak prefill reaches
ALLREDUCE_LATENCY_S = 8e-6
MAX_BATCH = 1e6  # the batch search's bound when requests hold no KV cache or state


@dataclass(frozen=True)
class Spec:
    """The hardware figures the roofline needs, per GPU."""

    sku: str
    vendor: str
    family: str
    memory_gb: float
    hbm_tb_per_s: float
    tflops: tuple[tuple[str, float], ...]  # dense peak by precision
    scale_up_gpus: int
    scale_up_gb_per_s: float

    @property
    def generation(self) -> str:
        """Family, and whether rack-scale: the level at which reference SKU pairs correct the roofline."""
        return f"{self.family}-rack" if self.scale_up_gpus > 8 else self.family

    def peak_tflops(self, precision: str) -> tuple[float, str]:
        """(dense TFLOPS, which) the precision computes at."""
        t = dict(self.tflops)
        if precision in t:
            return t[precision], f"{precision}_dense"
        if precision == "fp4" and "bf16" in t:
            return t["bf16"], "bf16_dense (FP4 weights, no FP4 tensor cores)"
        if precision == "fp8" and "bf16" in t:
            return t["bf16"], "bf16_dense (no FP8 tensor cores)"
        raise ScenarioError(f"{self.sku}: no peak TFLOPS for {precision} in the catalog")


def precision_of(value: str) -> str | None:
    """The roofline's precision (fp4, fp8, bf16) for a curve point's label, None if unknown."""
    v = value.strip().lower()
    v = ALIASES.get(v, v)
    return v if v in WEIGHT_BYTES else None


def spec_of(sku: CatalogSku) -> Spec | None:
    """A catalog SKU's roofline figures; None when the catalog lacks bandwidth or scale-up figures."""
    if sku.hbm_tb_per_s is None or sku.scale_up is None:
        return None
    tflops = tuple(
        sorted((k.removesuffix("_dense"), f.value) for k, f in sku.peak_tflops.items() if k.endswith("_dense"))
    )
    return Spec(
        sku=sku.id,
        vendor=sku.vendor,
        family=sku.family,
        memory_gb=sku.memory_gb.value,
        hbm_tb_per_s=sku.hbm_tb_per_s.value,
        tflops=tflops,
        scale_up_gpus=sku.scale_up.gpus,
        scale_up_gb_per_s=sku.scale_up.gb_per_s,
    )


def _deployments(domain: int) -> list[int]:
    """GPUs per deployment: powers of two within the domain, the domain, and 2 and 4 domains."""
    out, g = [], 1
    while g < domain:
        out.append(g)
        g *= 2
    return [*out, domain, 2 * domain, 4 * domain]


@lru_cache(maxsize=65536)
def roofline(cfg: ModelConfig, spec: Spec, precision: str, isl: int, osl: int, x: float) -> float:
    """Input + output tokens/s per GPU at ``x`` tok/s/user; 0 when no deployment reaches ``x``."""
    tflops, _ = spec.peak_tflops(precision)
    flops, bw, cap = tflops * 1e12, spec.hbm_tb_per_s * 1e12, spec.memory_gb * 1e9
    wb, kvb = WEIGHT_BYTES[precision], KV_BYTES[precision]
    kv_per_request = cfg.kv_elements_per_request(isl + osl / 2) * kvb + cfg.state_bytes_per_request
    expert_params = cfg.expert_params if cfg.moe else 0.0
    dense_params = cfg.total_params - expert_params
    tau = 1.0 / x
    prefill_s_per_request = isl * 2 * cfg.active_params / (flops * PREFILL_EFFICIENCY)
    best = 0.0
    for g in _deployments(spec.scale_up_gpus):
        room = HBM_USABLE * g * cap - cfg.total_params * wb
        if room <= kv_per_request:
            continue
        b = np.geomspace(1.0, room / kv_per_request if kv_per_request > 0 else MAX_BATCH, 512)
        if cfg.moe:
            touched = 1.0 - (1.0 - cfg.experts_per_token / cfg.experts) ** b
            weights = (dense_params + expert_params * touched) * wb
        else:
            weights = np.full_like(b, cfg.total_params * wb)
        t_mem = (weights + b * kv_per_request) / (g * bw)
        t_flop = b * 2 * cfg.active_params / (g * flops)
        t_comm = (
            0.0
            if g == 1
            else cfg.layers * 2 * (ALLREDUCE_LATENCY_S + 2 * b * cfg.hidden_size * 2 / (spec.scale_up_gb_per_s * 1e9))
        )
        ok = np.maximum(t_mem, t_flop) + t_comm <= tau
        if not ok.any():
            continue
        batch = float(b[np.flatnonzero(ok)[-1]])
        decode = batch * x / g  # output tokens/s per GPU if it only decoded, every user at exactly x
        output = 1.0 / (1.0 / decode + prefill_s_per_request / osl)
        best = max(best, output * (isl + osl) / osl)
    return best
