"""The shipped reference set of measured serving points (``models/reference/throughput/``).

2,264 points for 6 models on H100, H200, B200, B300, GB200 NVL72 and GB300 NVL72, derived
from NVIDIA's ai-dynamo/aiconfigurator measured sample (Apache License 2.0, copyright NVIDIA
CORPORATION & AFFILIATES; the licence and the extract's README, which states the derivation and
the modifications, ship beside it), with the models' ``config.json`` files. Read as curve points:
the same type a curve file holds, so a reference model and your own are one object inside.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from planner.resources import models_dir
from planner.throughput.curves import CurvePoint
from planner.throughput.modelcfg import ModelConfig, read_model_config


def reference_dir() -> Path:
    return models_dir() / "reference" / "throughput"


@cache
def reference_points() -> tuple[CurvePoint, ...]:
    """Every reference point (framework is ``<framework> <agg|disagg>``)."""
    out = []
    with (reference_dir() / "points.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.append(
                CurvePoint(
                    sku=row["sku"],
                    gpus=int(row["gpus"]),
                    model=row["model"],
                    isl=int(row["isl"]),
                    osl=int(row["osl"]),
                    precision=row["precision"],
                    framework=f"{row['framework']} {row['mode']}",
                    interactivity=float(row["interactivity"]),
                    tokens_per_s_per_gpu=float(row["tokens_per_s_per_gpu"]),
                    ttft_ms=float(row["ttft_ms"]) if row["ttft_ms"] else None,
                    concurrency=float(row["concurrency"]) if row["concurrency"] else None,
                    source=f"{row['source']} ({row['id']})",
                    format="reference",
                )
            )
    return tuple(out)


@cache
def reference_configs() -> dict[str, ModelConfig]:
    """The reference models' normalised ``config.json``, by model id."""
    return {p.stem: read_model_config(p) for p in sorted((reference_dir() / "model_configs").glob("*.json"))}
