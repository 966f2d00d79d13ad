"""Load and cross-check the hardware and workload catalogs."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from planner.catalog.schema import (
    CatalogSku,
    CatalogWorkload,
    Comparison,
    Series,
    SkuCatalogFile,
    Sourced,
    WorkloadCatalogFile,
)
from planner.errors import ScenarioError
from planner.inputs import read_yaml, validate_model
from planner.resources import models_dir


@dataclass(frozen=True)
class Catalog:
    """Validated SKUs and workloads, keyed by id, with the citation table."""

    skus: dict[str, CatalogSku]
    workloads: dict[str, CatalogWorkload]
    comparisons: dict[str, Comparison]
    sources: dict[str, str]
    economic_life_years: float

    def sku(self, sku_id: str) -> CatalogSku:
        """The SKU with this id, or a ScenarioError naming the near miss."""
        if sku_id not in self.skus:
            raise ScenarioError(unknown_id_message("SKU", sku_id, self.skus))
        return self.skus[sku_id]

    def workload(self, workload_id: str) -> CatalogWorkload:
        """The workload with this id, or a ScenarioError naming the near miss."""
        if workload_id not in self.workloads:
            raise ScenarioError(unknown_id_message("workload", workload_id, self.workloads))
        return self.workloads[workload_id]

    def series(self, workload_id: str, sku_id: str) -> list[Series]:
        """Measurement series of one SKU on one workload (possibly empty)."""
        return [s for s in self.workload(workload_id).series if s.sku == sku_id]


def unknown_id_message(kind: str, given: str, known) -> str:
    near = difflib.get_close_matches(given, list(known), n=1, cutoff=0.5)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    return f"unknown {kind} '{given}'{hint} (known: {', '.join(sorted(known))})"


def _sourced(obj: object, path: str) -> Iterator[tuple[str, Sourced]]:
    if isinstance(obj, Sourced):
        yield path, obj
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _sourced(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _sourced(value, f"{path}.{key}")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _sourced(value, f"{path}[{i}]")


def _check_sources(model: BaseModel, sources: dict[str, str], file: Path) -> list[str]:
    return [
        f"{file}: {path}.source: unknown source '{fig.source}' (define it under 'sources:')"
        for path, fig in _sourced(model, "")
        if fig.source not in sources
    ]


def _duplicates(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({i for i in ids if i in seen or seen.add(i)})


def load_catalog(directory: Path | None = None) -> Catalog:
    """Read ``skus.yaml`` and ``workloads.yaml`` from ``directory`` (default: shipped models/)."""
    directory = Path(directory) if directory is not None else models_dir()
    sku_path, wl_path = directory / "skus.yaml", directory / "workloads.yaml"
    sku_file = validate_model(SkuCatalogFile, read_yaml(sku_path, "SKU catalog"), str(sku_path))
    wl_file = validate_model(WorkloadCatalogFile, read_yaml(wl_path, "workload catalog"), str(wl_path))

    problems = _check_sources(sku_file, sku_file.sources, sku_path)
    problems += _check_sources(wl_file, wl_file.sources, wl_path)
    for dup in _duplicates([s.id for s in sku_file.skus]):
        problems.append(f"{sku_path}: duplicate SKU id '{dup}'")
    for dup in _duplicates([w.id for w in wl_file.workloads]):
        problems.append(f"{wl_path}: duplicate workload id '{dup}'")
    skus = {s.id: s for s in sku_file.skus}
    for wi, wl in enumerate(wl_file.workloads):
        for si, series in enumerate(wl.series):
            where = f"{wl_path}: workloads[{wi}].series[{si}]"
            if series.sku not in skus:
                problems.append(f"{where}.sku: {unknown_id_message('SKU', series.sku, skus)}")
                continue
            basis = series.flops_basis or f"{series.precision}_dense"
            if series.flops_basis and basis not in skus[series.sku].peak_tflops:
                problems.append(f"{where}.flops_basis: SKU '{series.sku}' has no peak_tflops '{basis}'")
    workloads = {w.id: w for w in wl_file.workloads}
    for ci, comp in enumerate(wl_file.comparisons):
        where = f"{wl_path}: comparisons[{ci}]"
        if comp.workload not in workloads:
            problems.append(f"{where}.workload: {unknown_id_message('workload', comp.workload, workloads)}")
        problems += [f"{where}.skus: {unknown_id_message('SKU', s, skus)}" for s in comp.skus if s not in skus]
    if problems:
        raise ScenarioError("the catalog is invalid", problems)
    return Catalog(
        skus=skus,
        workloads=workloads,
        comparisons={c.id: c for c in wl_file.comparisons},
        sources={**sku_file.sources, **wl_file.sources},
        economic_life_years=sku_file.defaults.economic_life_years.value,
    )


@lru_cache(maxsize=1)
def shipped_catalog() -> Catalog:
    """The catalog shipped with the package (read once per process)."""
    return load_catalog()


def scenario_catalog(sf) -> Catalog:
    """The catalog a scenario file names (``catalog:``, a folder relative to it), else the shipped one."""
    return shipped_catalog() if sf.scenario.catalog is None else load_catalog(sf.resolve(sf.scenario.catalog))
