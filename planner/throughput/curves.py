"""Curve files: measured serving points of your own model, per SKU (``planner throughput import``).

A curve file is YAML::

    version: 1
    points:
      - {sku: h200-sxm, gpus: 8, model: qwen3-235b, isl: 4096, osl: 512, precision: fp8,
         framework: vllm, interactivity: 35.2, tokens_per_s_per_gpu: 1234.5, ttft_ms: 412.0,
         concurrency: 64, source: "runs/c64.json", format: vllm}

``tokens_per_s_per_gpu`` is total (input + output) tokens/s per GPU of the deployment and
``interactivity`` is 1000 / median TPOT [tok/s/user], the basis of the catalog's workloads.
A workload that names a curve file (``workloads: {chat: {curve: curves.yaml, model: ...,
isl: ..., osl: ..., interactivity: 35}}``) serves, on each SKU, the Pareto frontier of that
SKU's points for the model and shape, as a catalog workload does
(``planner.catalog.throughput.throughput_at``: monotone interpolation between measured
points, the lowest point below them, never above the highest).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat, PositiveInt

from planner.catalog.schema import Series
from planner.errors import ScenarioError
from planner.inputs import read_yaml, validate_model

CURVE_FILE_VERSION = 1

Cell = str | int | float | bool | None  # a value of one point's mapping in the YAML


class CurvePoint(BaseModel):
    """One measured serving point."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    sku: str = Field(min_length=1, description="SKU id (catalog or the scenario's).")
    gpus: PositiveInt = Field(le=1_000_000, description="GPUs of the deployment measured.")
    model: str = Field(min_length=1, description="Served model name.")
    isl: PositiveInt = Field(le=10_000_000, description="Input sequence length. [tokens]")
    osl: PositiveInt = Field(le=10_000_000, description="Output sequence length. [tokens]")
    precision: str = Field(min_length=1, description="fp8, fp4, bf16, ...")
    framework: str = Field(default="unknown", min_length=1, description="Serving framework (and version).")
    interactivity: PositiveFloat = Field(le=1e6, description="1000 / median TPOT. [tok/s/user]")
    tokens_per_s_per_gpu: PositiveFloat = Field(le=1e9, description="Input + output tokens/s per GPU. [tokens/s]")
    ttft_ms: NonNegativeFloat | None = Field(default=None, le=1e9, description="Median time to first token. [ms]")
    p99_ttft_ms: NonNegativeFloat | None = Field(default=None, le=1e9, description="P99 time to first token. [ms]")
    concurrency: PositiveFloat | None = Field(default=None, le=1e9, description="Requests in flight (client).")
    source: str = Field(default="", description="The result file it was read from.")
    format: str = Field(default="", description="vllm | sglang | aiperf | genai-perf | inferencex")

    def key(self) -> tuple:
        """What makes a point the same point (imported twice, it is kept once)."""
        return (
            self.sku,
            self.gpus,
            self.model,
            self.isl,
            self.osl,
            self.precision,
            self.framework,
            self.concurrency,
            round(self.interactivity, 9),
            round(self.tokens_per_s_per_gpu, 9),
        )


class CurveFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=CURVE_FILE_VERSION, ge=1, le=CURVE_FILE_VERSION)
    points: list[CurvePoint] = Field(default_factory=list)


def read_curve_file(path: Path) -> CurveFile:
    """A curve file, validated (exit 2 naming the point and field on a bad one)."""
    return validate_model(CurveFile, read_yaml(Path(path), "curve"), str(path))


def merge(existing: list[CurvePoint], new: list[CurvePoint]) -> tuple[list[CurvePoint], int]:
    """``existing`` plus the points of ``new`` not already there (in order). Returns (points, added)."""
    seen = {p.key() for p in existing}
    out = list(existing)
    added = 0
    for p in new:
        if p.key() not in seen:
            seen.add(p.key())
            out.append(p)
            added += 1
    return out, added


class CurveFileDoc(TypedDict):
    """A curve file as written (the fields of :class:`CurveFile`; a point's unset optional fields left out)."""

    version: int
    points: list[dict[str, Cell]]


def curve_file_text(points: list[CurvePoint]) -> str:
    """The YAML of a curve file holding ``points``, one flow mapping per point."""
    doc: CurveFileDoc = {
        "version": CURVE_FILE_VERSION,
        "points": [p.model_dump(exclude_none=True, exclude_defaults=False) for p in points],
    }
    head = (
        "# planner throughput curve file: measured serving points (planner throughput import).\n"
        "# tokens_per_s_per_gpu: input + output tokens/s per GPU; interactivity: 1000 / median TPOT [tok/s/user].\n"
    )
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=200)


def series_for(points: list[CurvePoint], *, model: str, isl: int, osl: int) -> dict[str, list[Series]]:
    """Per SKU, the points of ``model`` at ``isl``/``osl`` as catalog series (one per precision and
    framework), so that a curve workload and a catalog workload share one frontier."""
    groups: dict[tuple[str, str, str], list[CurvePoint]] = {}
    for p in points:
        if p.model == model and p.isl == isl and p.osl == osl:
            groups.setdefault((p.sku, p.precision, p.framework), []).append(p)
    out: dict[str, list[Series]] = {}
    for (sku, precision, framework), pts in groups.items():
        sources = sorted({p.source for p in pts if p.source})
        out.setdefault(sku, []).append(
            Series(
                sku=sku,
                precision=precision,
                framework=framework,
                measured="imported benchmark results",
                source=", ".join(sources) or "curve file",
                points=[(p.interactivity, p.tokens_per_s_per_gpu) for p in pts],
            )
        )
    return out


def shapes(points: list[CurvePoint]) -> list[str]:
    """The (model, isl, osl) shapes a curve file holds, for messages."""
    return sorted({f"{p.model} {p.isl}/{p.osl}" for p in points})


def pick_shape(points: list[CurvePoint], workload: str | None, path) -> tuple[str, int, int]:
    """(model, isl, osl) named by ``workload`` ('MODEL ISL/OSL'), or the file's only shape."""
    known = shapes(points)
    chosen = workload or (known[0] if len(known) == 1 else None)
    if chosen not in known:
        raise ScenarioError(
            f"--workload: {'say which shape' if workload is None else repr(workload) + ' is not in the file'}; "
            f"{path} holds {', '.join(repr(k) for k in known)}"
        )
    model, shape = chosen.rsplit(" ", 1)
    isl, osl = (int(v) for v in shape.split("/"))
    return model, isl, osl


def require_points(path: Path, cf: CurveFile) -> None:
    if not cf.points:
        raise ScenarioError(f"{path}: the curve file holds no points; add some with `planner throughput import`")
