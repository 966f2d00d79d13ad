"""The shipped catalog is complete and sourced; bad catalogs get clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from planner.catalog.load import load_catalog
from planner.cli.main import app
from planner.errors import ScenarioError

REQUIRED_SKUS = {"h100-sxm", "h200-sxm", "b200-sxm", "b300-sxm", "gb200-nvl72", "gb300-nvl72", "mi300x", "mi355x"}


def test_shipped_catalog_contents(catalog):
    assert set(catalog.skus) >= REQUIRED_SKUS
    assert catalog.skus["gb300-nvl72"].unit.gpus == 72
    assert catalog.skus["h200-sxm"].unit.gpus == 8
    assert catalog.skus["h200-sxm"].family == "hopper"
    assert catalog.skus["gb300-nvl72"].family == "blackwell"
    for wl in ("deepseek-r1-8k1k", "deepseek-r1-1k1k", "gpt-oss-120b-1k1k", "llama-3.3-70b-1k1k"):
        assert catalog.workloads[wl].series
    for wl in catalog.workloads.values():
        for s in wl.series:
            assert s.measured and s.source in catalog.sources


def edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def expect_error(models: Path, *fragments: str) -> str:
    with pytest.raises(ScenarioError) as info:
        load_catalog(models)
    text = str(info.value)
    for frag in fragments:
        assert frag in text, text
    return text


def test_wrong_type(models_copy):
    edit(models_copy / "skus.yaml", lambda d: d["skus"][1]["pricing"]["hyperscaler"].update(value="cheap"))
    expect_error(models_copy, "skus.yaml", "skus[1].pricing.hyperscaler.value", "'cheap'")


def test_negative_and_nan_price(models_copy):
    def bad(d):
        d["skus"][0]["pricing"]["neocloud"]["value"] = -1.0
        d["skus"][2]["pricing"]["neocloud"]["value"] = float("nan")

    edit(models_copy / "skus.yaml", bad)
    text = expect_error(models_copy, "skus[0].pricing.neocloud.value", "greater than 0")
    assert "skus[2].pricing.neocloud.value" in text  # every problem reported at once


def test_unknown_key_suggests_nearest(models_copy):
    edit(
        models_copy / "skus.yaml",
        lambda d: d["skus"][0]["power"].update(idle_fractoin=d["skus"][0]["power"]["idle_fraction"]),
    )
    expect_error(models_copy, "skus[0].power.idle_fractoin: unknown key", "did you mean 'idle_fraction'")


def test_duplicate_id(models_copy):
    edit(models_copy / "skus.yaml", lambda d: d["skus"].append(d["skus"][0]))
    expect_error(models_copy, "duplicate SKU id 'h100-sxm'")


def test_unknown_source(models_copy):
    edit(models_copy / "skus.yaml", lambda d: d["skus"][0]["memory_gb"].update(source="nowhere"))
    expect_error(models_copy, "skus[0].memory_gb.source: unknown source 'nowhere'")


def test_series_for_unknown_sku(models_copy):
    edit(models_copy / "workloads.yaml", lambda d: d["workloads"][0]["series"][0].update(sku="gb400"))
    expect_error(models_copy, "series[0].sku: unknown SKU 'gb400'")


def test_missing_file(tmp_path):
    expect_error(tmp_path, "SKU catalog file not found")


def test_invalid_yaml(models_copy):
    (models_copy / "skus.yaml").write_text("skus: [\n  - id: x\n    name: : :\n")
    expect_error(models_copy, "not valid YAML", "line")


def test_cli_bad_catalog_no_traceback(runner, models_copy):
    edit(models_copy / "skus.yaml", lambda d: d["skus"][1]["pricing"]["hyperscaler"].update(value=float("nan")))
    for cmd in (["compare"], ["catalog"]):
        result = runner.invoke(app, [*cmd, "--catalog", str(models_copy)])
        assert result.exit_code == 2
        assert "skus[1].pricing.hyperscaler.value" in result.output
        assert "Traceback" not in result.output
