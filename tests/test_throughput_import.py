"""`planner throughput import` (issue 14, items 1 and 2): every format read to the same point,
merging without duplicates, refusals naming file and key, and curve files planned on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from planner.cli.main import app
from planner.optimize.problem import build_problem
from planner.pipeline import scenario_curve
from planner.scenario.load import load_scenario
from planner.throughput.curves import read_curve_file

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--sku", "h200-sxm", "--gpus", "8", "--model", "m", "--isl", "4096", "--osl", "512", "--precision", "fp8"]

# one run: 64 requests in flight, 8 GPUs, 9,904 total tokens/s, median TPOT 28.5 ms, TTFT 412 ms
TOTAL, TPOT, TTFT = 9904.0, 28.5, 412.0


def vllm_result(**extra) -> dict:
    return {
        "backend": "vllm",
        "max_concurrency": 64,
        "completed": 640,
        "failed": 0,
        "output_throughput": 1100.0,
        "total_token_throughput": TOTAL,
        "median_ttft_ms": TTFT,
        "p99_ttft_ms": 1650.0,
        "median_tpot_ms": TPOT,
        **extra,
    }


def aiperf_export(duration: float = 100.0) -> dict:
    tokens = TOTAL * duration
    return {
        "request_throughput": {"unit": "requests/sec", "avg": 2.1},
        "inter_token_latency": {"unit": "ms", "avg": 29.0, "p50": TPOT},
        "time_to_first_token": {"unit": "ms", "avg": 500.0, "p50": TTFT},
        "benchmark_duration": {"unit": "sec", "avg": duration},
        "request_count": {"unit": "requests", "avg": 640.0},
        "total_isl": {"unit": "tokens", "avg": tokens * 8 / 9},
        "total_osl": {"unit": "tokens", "avg": tokens / 9},
        "error_request_count": None,
        "input_config": {"loadgen": {"concurrency": 64}},
    }


def write(tmp_path: Path, name: str, doc) -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def run(runner, *args):
    return runner.invoke(app, ["throughput", "import", *args])


@pytest.mark.parametrize(
    ("name", "doc", "fmt"),
    [
        ("vllm.json", vllm_result(), "vllm"),
        (
            "bench.jsonl",
            "\n".join(
                json.dumps(d)
                for d in (
                    {"total_throughput": 1.0, "median_tpot_ms": 9.0},
                    {"total_throughput": TOTAL, "median_tpot_ms": TPOT, "median_ttft_ms": TTFT, "completed": 640},
                )
            ),
            "sglang",
        ),
        (
            "old.jsonl",
            json.dumps(
                {
                    "input_throughput": TOTAL * 0.75,
                    "output_throughput": TOTAL * 0.25,
                    "median_tpot_ms": TPOT,
                    "median_ttft_ms": TTFT,
                }
            ),
            "sglang",
        ),
        ("profile_export_aiperf.json", aiperf_export(), "aiperf"),
        ("profile_export_genai_perf.json", aiperf_export(37.0), "genai-perf"),
    ],
)
def test_every_format_gives_the_same_point(runner, tmp_path, name, doc, fmt):
    path = write(tmp_path, name, doc)
    out = tmp_path / "curves.yaml"
    r = run(runner, str(path), *FLAGS, "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)["imported"]
    assert len(got) == 1 and got[0]["format"] == fmt
    p = got[0]
    assert p["tokens_per_s_per_gpu"] == pytest.approx(TOTAL / 8)  # total tokens/s over the GPUs
    assert p["interactivity"] == pytest.approx(1000 / TPOT)
    assert p["ttft_ms"] == pytest.approx(TTFT)
    assert read_curve_file(out).points[0].sku == "h200-sxm"


def test_inferencex_rows_are_per_gpu_and_in_seconds(runner, tmp_path):
    rows = [
        {"tput_per_gpu": 1238.0, "median_intvty": 35.0, "median_ttft": 0.412},
        {"tput_per_gpu": 700.0, "median_intvty": 55.0},
    ]
    path = write(tmp_path, "ix.json", rows)
    r = run(runner, str(path), *FLAGS, "--out", str(tmp_path / "c.yaml"), "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)["imported"]
    assert [p["tokens_per_s_per_gpu"] for p in got] == [1238.0, 700.0]  # not divided again
    assert got[0]["ttft_ms"] == pytest.approx(412.0) and got[0]["interactivity"] == pytest.approx(35.0)


def test_sglang_all_lines(runner, tmp_path):
    lines = [{"total_throughput": 8000.0 * (i + 1), "median_tpot_ms": 20.0 + i} for i in range(3)]
    path = write(tmp_path, "b.jsonl", "\n".join(map(json.dumps, lines)))
    r = run(runner, str(path), *FLAGS, "--out", str(tmp_path / "c.yaml"), "--all-lines", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["added"] == 3


def test_import_merges_without_duplicating(runner, tmp_path):
    a = write(tmp_path, "a.json", vllm_result())
    b = write(tmp_path, "b.json", vllm_result(median_tpot_ms=20.0, total_token_throughput=7000.0))
    out = tmp_path / "curves.yaml"
    assert run(runner, str(a), *FLAGS, "--out", str(out)).exit_code == 0
    r = run(runner, str(a), str(b), *FLAGS, "--out", str(out), "--json")
    doc = json.loads(r.stdout)
    assert (doc["read"], doc["added"], doc["already_there"], doc["points"]) == (2, 1, 1, 2)
    assert len(read_curve_file(out).points) == 2


def test_vllm_metadata_fills_missing_flags(runner, tmp_path):
    path = write(tmp_path, "v.json", vllm_result(gpus=4, sku="b200-sxm"))
    r = run(
        runner,
        str(path),
        "--model",
        "m",
        "--isl",
        "1024",
        "--osl",
        "1024",
        "--precision",
        "fp4",
        "--out",
        str(tmp_path / "c.yaml"),
        "--json",
    )
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)["imported"][0]
    assert p["sku"] == "b200-sxm" and p["gpus"] == 4 and p["tokens_per_s_per_gpu"] == pytest.approx(TOTAL / 4)
    # a flag that contradicts the metadata is refused, naming the key and both values (issue 26 item 7)
    r = run(runner, str(path), *FLAGS, "--out", str(tmp_path / "d.yaml"), "--json")
    assert r.exit_code == 2 and "--sku h200-sxm contradicts sku = 'b200-sxm'" in r.stderr
    assert "--gpus 8 contradicts gpus = 4" in r.stderr and not (tmp_path / "d.yaml").exists()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"hello": 1}, "cannot tell the format"),
        (vllm_result(median_tpot_ms=None), "key 'median_tpot_ms' is missing"),
        (vllm_result(total_token_throughput=0.0), "key 'total_token_throughput' is 0"),
        (vllm_result(total_token_throughput=-5.0), "must be positive"),
        (vllm_result(completed=10, failed=600), "600 requests failed against 10 completed"),
        (vllm_result(median_tpot_ms="fast"), "not a number"),
        (vllm_result(completed=0), "completed is 0: no request finished"),
    ],
)
def test_bad_files_are_refused_naming_file_and_key(runner, tmp_path, doc, message):
    path = write(tmp_path, "bad.json", doc)
    out = tmp_path / "c.yaml"
    r = run(runner, str(path), *FLAGS, "--out", str(out))
    assert r.exit_code == 2, r.output
    assert message in r.stderr and str(path) in r.stderr
    assert "Traceback" not in r.output and not out.exists()  # nothing half-written


def test_labels_the_estimator_cannot_use_are_imported_with_a_note(runner, tmp_path):
    path = write(tmp_path, "v.json", vllm_result())
    flags = ["--gpus", "8", "--model", "m", "--isl", "4096", "--osl", "512", "--out", str(tmp_path / "c.yaml")]
    r = run(runner, str(path), *flags, "--sku", "my-asic", "--precision", "int4", "--json")
    assert r.exit_code == 0, r.output
    notes = json.loads(r.stdout)["notes"]
    assert len(notes) == 2 and notes[0].startswith("SKU my-asic: not a catalog SKU")
    assert notes[1].startswith("precision int4: not one the estimator knows")
    r = run(runner, str(path), *FLAGS, "--out", str(tmp_path / "d.yaml"), "--json")
    assert json.loads(r.stdout)["notes"] == []
    r = run(runner, str(path), *flags, "--sku", "my-asic", "--precision", "fp8")
    assert "note: SKU my-asic" in " ".join(r.stdout.split())


def test_missing_labels_are_asked_for(runner, tmp_path):
    path = write(tmp_path, "v.json", vllm_result())
    r = run(runner, str(path), "--sku", "h200-sxm", "--out", str(tmp_path / "c.yaml"))
    assert r.exit_code == 2 and "--gpus --model --isl --osl --precision" in r.stderr


def test_a_curve_workload_plans_on_the_frontier(runner, tmp_path):
    # three runs on H200: the frontier at 35 tok/s/user interpolates between the measured points
    out = tmp_path / "curves.yaml"
    for i, (inter, per_gpu) in enumerate([(55.0, 700.0), (35.0, 1238.0), (22.0, 1700.0)]):
        path = write(
            tmp_path, f"r{i}.json", vllm_result(median_tpot_ms=1000 / inter, total_token_throughput=per_gpu * 8)
        )
        assert run(runner, str(path), *FLAGS, "--out", str(out)).exit_code == 0
    curve = "hour,chat\n" + "".join(f"{h},{1.0e6 if h % 24 < 12 else 1.5e6}\n" for h in range(48))
    (tmp_path / "chat.csv").write_text(curve)
    scenario = {
        "name": "own",
        "skus": ["h200-sxm", "b200-sxm"],
        "workloads": {"chat": {"curve": "curves.yaml", "model": "m", "isl": 4096, "osl": 512, "interactivity": 35}},
        "demand": {"load_curve": "chat.csv"},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    sf = load_scenario(tmp_path / "s.yaml")
    problem = build_problem(sf, scenario_curve(sf))
    h200 = next(s for s in problem.skus if s.id == "h200-sxm")
    assert h200.throughput["chat"] == pytest.approx(1238.0)  # measured at exactly 35
    assert any("b200-sxm cannot serve chat: no measurement on m 4096/512" in n for n in problem.notes)
    # between points: interpolated and labelled; above the highest: refused, never extrapolated
    scenario["workloads"]["chat"]["interactivity"] = 45
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    sf = load_scenario(tmp_path / "s.yaml")
    h200 = next(s for s in build_problem(sf, scenario_curve(sf)).skus if s.id == "h200-sxm")
    assert 700.0 < h200.throughput["chat"] < 1238.0
    assert h200.throughput_basis["chat"].startswith("interpolated between 35 and 55")
    scenario["workloads"]["chat"]["interactivity"] = 60
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    r = runner.invoke(app, ["plan", str(tmp_path / "s.yaml")])
    assert r.exit_code == 2 and "measured only up to 55 tok/s/user" in r.stderr


def test_a_curve_workload_is_checked(runner, tmp_path):
    (tmp_path / "c.yaml").write_text("version: 1\npoints: []\n")
    scenario = {
        "name": "own",
        "skus": ["h200-sxm"],
        "workloads": {"chat": {"curve": "c.yaml", "model": "m", "isl": 1, "osl": 1}},
        "demand": {"load_curve": "chat.csv"},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    r = runner.invoke(app, ["plan", str(tmp_path / "s.yaml")])
    assert r.exit_code == 2 and "a curve workload needs interactivity" in r.stderr
    scenario["workloads"]["chat"].update(interactivity=20, catalog="deepseek-r1-8k1k")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    r = runner.invoke(app, ["plan", str(tmp_path / "s.yaml")])
    assert r.exit_code == 2 and "either catalog" in r.stderr


def test_the_shipped_curve_scenario(runner):
    r = runner.invoke(app, ["plan", str(ROOT / "scenarios" / "qwen3-curve.yaml"), "--json", "--no-explain"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    thr = {f["sku"]: f["throughput"].get("chat") for f in doc["fleet"]}
    # the frontier at 20 tok/s/user: H100's disaggregated vLLM point at 87.8 tok/s/user dominates
    assert thr["h100-sxm"] == pytest.approx(1833.706)
    assert thr["h200-sxm"] == pytest.approx(864.286)


def test_show_catalog_and_curve_file(runner, tmp_path):
    r = runner.invoke(app, ["throughput", "show", "--workload", "deepseek-r1-8k1k", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["interactivity"] == 35 and doc["isl"] == 8192
    b200 = next(c for c in doc["curves"] if c["sku"] == "b200-sxm")
    assert b200["at_target"] == pytest.approx(5397.0) and b200["basis"] == "measured"
    b300 = next(c for c in doc["curves"] if c["sku"] == "b300-sxm")
    assert b300["at_target"] is None and "measured only up to 26" in b300["basis"]  # never extrapolated
    # the frontier: no point of it is dominated by another
    for c in doc["curves"]:
        f = [(p["interactivity"], p["tokens_per_s_per_gpu"]) for p in c["frontier"]]
        assert all(x1 < x2 and y1 > y2 for (x1, y1), (x2, y2) in zip(f, f[1:], strict=False))
    curves = ROOT / "scenarios" / "curves" / "qwen3-235b-a22b.yaml"
    png = tmp_path / "q.png"
    args = ["throughput", "show", "--curves", str(curves), "--workload", "qwen3-235b-a22b 4000/1000"]
    r = runner.invoke(app, [*args, "--interactivity", "20", "--plot", str(png), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert {c["sku"] for c in doc["curves"]} == {"h100-sxm", "h200-sxm"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "no default service level" in r.stderr
    r = runner.invoke(app, ["throughput", "show", "--curves", str(curves), "--interactivity", "20"])
    assert r.exit_code == 2 and "say which shape" in r.stderr and "qwen3-235b-a22b 4000/500" in r.stderr
    r = runner.invoke(app, ["throughput", "show", "--workload", "nope"])
    assert r.exit_code == 2 and "unknown workload 'nope'" in r.stderr


def test_a_sku_id_close_to_a_catalog_one_is_refused_unless_declared_new(runner, tmp_path):
    """Issue 26 item 7: `--sku h100-sxn` is a typo of h100-sxm, not silently new hardware."""
    path = write(tmp_path, "v.json", vllm_result())
    flags = ["--gpus", "8", "--model", "m", "--isl", "4096", "--osl", "512", "--precision", "fp8"]
    out = tmp_path / "c.yaml"
    r = run(runner, str(path), *flags, "--sku", "h100-sxn", "--out", str(out))
    assert r.exit_code == 2 and "did you mean 'h100-sxm'?" in r.stderr and "--new-sku" in r.stderr
    assert not out.exists()  # nothing written
    r = run(runner, str(path), *flags, "--sku", "h100-sxn", "--new-sku", "--out", str(out), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["notes"][0].startswith("SKU h100-sxn: not a catalog SKU")
    r = run(runner, str(path), *flags, "--sku", "h200-sxm", "--new-sku", "--out", str(tmp_path / "d.yaml"))
    assert r.exit_code == 2 and "--new-sku: every SKU imported (h200-sxm) is a catalog SKU" in r.stderr


def test_inferencex_rows_keep_their_own_framework(runner, tmp_path):
    """Issue 26 item 7: each InferenceX row's `framework` labels its point."""
    rows = [
        {"tput_per_gpu": 800.0, "median_intvty": 30.0, "median_ttft": 0.4, "framework": "vllm-0.12.0 agg"},
        {"tput_per_gpu": 450.0, "median_intvty": 50.0, "median_ttft": 2.0, "framework": "sglang-0.5.6 agg"},
        {"tput_per_gpu": 300.0, "median_intvty": 70.0},
    ]
    path = write(tmp_path, "x.json", rows)
    r = run(runner, str(path), *FLAGS, "--out", str(tmp_path / "c.yaml"), "--json")
    assert r.exit_code == 0, r.output
    assert [p["framework"] for p in json.loads(r.stdout)["imported"]] == [
        "vllm-0.12.0 agg",
        "sglang-0.5.6 agg",
        "inferencex",
    ]
    # a flag that names another framework than a row is refused (it may add a version: vllm-0.12.0 agg-fp8)
    r = run(runner, str(path), *FLAGS, "--framework", "mine", "--out", str(tmp_path / "d.yaml"), "--json")
    assert r.exit_code == 2 and "--framework mine contradicts [0].framework = 'vllm-0.12.0 agg'" in r.stderr
    assert "[1].framework = 'sglang-0.5.6 agg'" in r.stderr and not (tmp_path / "d.yaml").exists()


def test_genai_perf_own_export_is_read(runner, tmp_path):
    """Issue 26 item 7: profile_export_genai_perf.json as genai-perf writes it (no total_isl)."""
    path = Path(__file__).parent / "data" / "profile_export_genai_perf.json"
    flags = ["--sku", "h200-sxm", "--gpus", "4", "--isl", "4000", "--osl", "1000", "--precision", "fp8"]
    r = run(runner, str(path), *flags, "--out", str(tmp_path / "c.yaml"), "--json")
    assert r.exit_code == 0, r.output
    (p,) = json.loads(r.stdout)["imported"]
    assert p["format"] == "genai-perf" and p["model"] == "Qwen/Qwen3-235B-A22B-FP8"  # from its input_config
    assert p["tokens_per_s_per_gpu"] == pytest.approx(0.69143 * 5000 / 4)
    assert p["interactivity"] == pytest.approx(1000 / 34.35) and p["ttft_ms"] == 395.1 and p["concurrency"] == 24
    broken = json.loads(path.read_text())
    del broken["request_throughput"]
    bad = write(tmp_path, "profile_export_genai_perf.json", broken)
    r = run(runner, str(bad), *flags, "--model", "m", "--out", str(tmp_path / "d.yaml"))
    assert r.exit_code == 2 and "request_throughput" in r.stderr and not (tmp_path / "d.yaml").exists()


# ---- issue 26 item 7: one real-shaped example per tool (tests/data/README.md says where each shape is from)
DATA = Path(__file__).parent / "data"
QWEN = "Qwen/Qwen3-235B-A22B-FP8"


def imported(runner, tmp_path, name, *flags):
    out = tmp_path / "curves.yaml"
    r = run(runner, str(DATA / name), *flags, "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    assert len(read_curve_file(out).points) == len(json.loads(r.stdout)["imported"])
    return json.loads(r.stdout)["imported"]


def test_vllm_example_gives_its_model_framework_and_shape(runner, tmp_path):
    (p,) = imported(runner, tmp_path, "vllm_bench_serve.json", "--sku", "h200-sxm", "--gpus", "4", "--precision", "fp8")
    # total_token_throughput 3,457.2169 tokens/s over 4 GPUs; ISL/OSL = 960,000 / 240 and 240,000 / 240
    assert p["tokens_per_s_per_gpu"] == pytest.approx(3457.2169 / 4)
    assert p["interactivity"] == pytest.approx(1000 / 34.35) and p["ttft_ms"] == 395.1 and p["p99_ttft_ms"] == 612.4
    assert (p["model"], p["isl"], p["osl"], p["framework"], p["concurrency"]) == (QWEN, 4000, 1000, "vllm", 24)


def test_sglang_example_last_line_and_every_line(runner, tmp_path):
    flags = ["--sku", "h200-sxm", "--gpus", "4", "--precision", "fp8"]
    (p,) = imported(runner, tmp_path, "sglang_bench_serving.jsonl", *flags)
    # the last line: total_throughput = 240 x 5,000 tokens / 398.2 s = 3,013.561 tokens/s over 4 GPUs
    assert p["tokens_per_s_per_gpu"] == pytest.approx(3013.561 / 4)
    assert p["interactivity"] == pytest.approx(1000 / 30.12) and p["ttft_ms"] == 905.3
    assert (p["model"], p["isl"], p["osl"], p["concurrency"]) == (QWEN, 4000, 1000, 24)
    assert p["framework"] == "sglang-0.5.6.post2"  # backend sglang, server_info.version
    both = imported(runner, tmp_path, "sglang_bench_serving.jsonl", *flags, "--all-lines")
    assert [q["concurrency"] for q in both] == [8, 24]
    assert both[0]["tokens_per_s_per_gpu"] == pytest.approx(240 * 5000 / 1079.6 / 4, rel=1e-6)


def test_aiperf_example(runner, tmp_path):
    (p,) = imported(
        runner, tmp_path, "profile_export_aiperf.json", "--sku", "h200-sxm", "--gpus", "4", "--precision", "fp8"
    )
    # (total_isl 960,000 + total_osl 240,000) tokens / 350.4 s over 4 GPUs
    assert p["tokens_per_s_per_gpu"] == pytest.approx(1_200_000 / 350.4 / 4)
    assert p["interactivity"] == pytest.approx(1000 / 34.5)
    assert (p["ttft_ms"], p["p99_ttft_ms"]) == (404.6, 655.1)
    assert (p["model"], p["isl"], p["osl"], p["concurrency"], p["format"]) == (QWEN, 4000, 1000, 24, "aiperf")


def test_genai_perf_csv_gives_the_same_point_as_its_json(runner, tmp_path):
    flags = ["--sku", "h200-sxm", "--gpus", "4", "--model", QWEN, "--precision", "fp8"]
    (c,) = imported(runner, tmp_path, "profile_export_genai_perf.csv", *flags)
    # Output Token Throughput 691.43 x (4,000 + 1,000) / 1,000 tokens over 4 GPUs; ITL p50 34.35 ms
    assert c["tokens_per_s_per_gpu"] == pytest.approx(691.43 * 5 / 4)
    assert c["interactivity"] == pytest.approx(1000 / 34.35) and (c["ttft_ms"], c["p99_ttft_ms"]) == (395.1, 612.4)
    assert (c["format"], c["isl"], c["osl"], c["framework"]) == ("genai-perf", 4000, 1000, "genai-perf")
    json_dir = tmp_path / "json"
    json_dir.mkdir()
    (j,) = imported(
        runner,
        json_dir,
        "profile_export_genai_perf.json",
        *flags,
    )
    assert j["tokens_per_s_per_gpu"] == pytest.approx(c["tokens_per_s_per_gpu"])  # 0.69143 req/s x 5,000 tokens / 4
    # --format genai-perf reads it too; a CSV under another format is refused
    r = run(
        runner,
        str(DATA / "profile_export_genai_perf.csv"),
        *flags,
        "--format",
        "genai-perf",
        "--out",
        str(tmp_path / "f.yaml"),
    )
    assert r.exit_code == 0, r.output
    r = run(
        runner,
        str(DATA / "profile_export_genai_perf.csv"),
        *flags,
        "--format",
        "vllm",
        "--out",
        str(tmp_path / "g.yaml"),
    )
    assert r.exit_code == 2 and "only genai-perf's CSV is read" in r.stderr and not (tmp_path / "g.yaml").exists()


def test_inferencex_example_rows_state_everything_but_the_sku(runner, tmp_path):
    got = imported(runner, tmp_path, "inferencex_rows.json", "--sku", "h200-sxm")
    assert [p["tokens_per_s_per_gpu"] for p in got] == [864.286, 444.738]  # already per GPU
    assert [p["interactivity"] for p in got] == [pytest.approx(29.1121), pytest.approx(48.9237)]  # median_intvty
    assert [p["ttft_ms"] for p in got] == [pytest.approx(395.09), pytest.approx(2065.57)]  # seconds x 1000
    assert [p["p99_ttft_ms"] for p in got] == [pytest.approx(612.4), pytest.approx(3120.8)]
    assert [p["framework"] for p in got] == ["vllm", "sglang mtp"]  # spec_decoding named
    assert {(p["model"], p["gpus"], p["isl"], p["osl"], p["precision"]) for p in got} == {(QWEN, 4, 4000, 1000, "fp8")}
    assert [p["concurrency"] for p in got] == [24, 8]


@pytest.mark.parametrize(
    ("name", "flags", "messages"),
    [
        (
            "vllm_bench_serve.json",
            ["--model", "qwen3"],
            ["--model qwen3 contradicts model_id = 'Qwen/Qwen3-235B-A22B-FP8'"],
        ),
        (
            "vllm_bench_serve.json",
            ["--osl", "512"],
            [
                "--osl 512 contradicts total_output_tokens / completed = 1,000.0, the mean over its requests (more than 10% apart)"
            ],
        ),
        ("vllm_bench_serve.json", ["--framework", "sglang"], ["--framework sglang contradicts backend = 'vllm'"]),
        (
            "sglang_bench_serving.jsonl",
            ["--model", "m"],
            ["--model m contradicts line 2: server_info.model_path = 'Qwen/Qwen3-235B-A22B-FP8'"],
        ),
        (
            "profile_export_aiperf.json",
            ["--isl", "8192"],
            ["--isl 8192 contradicts input_sequence_length.avg = 4,000.0"],
        ),
        ("profile_export_genai_perf.csv", ["--isl", "1024"], ["contradicts row 'Input Sequence Length', column avg"]),
        (
            "inferencex_rows.json",
            ["--gpus", "8"],
            ["--gpus 8 contradicts [0].tp = 4", "--gpus 8 contradicts [1].tp = 4"],
        ),
        ("inferencex_rows.json", ["--precision", "fp4"], ["--precision fp4 contradicts [0].precision = 'fp8'"]),
    ],
)
def test_a_flag_contradicting_the_file_is_refused(runner, tmp_path, name, flags, messages):
    base = {"--sku": "h200-sxm", "--gpus": "4", "--precision": "fp8", "--model": QWEN}
    for k, v in zip(flags[::2], flags[1::2], strict=True):
        base[k] = v
    out = tmp_path / "c.yaml"
    r = run(runner, str(DATA / name), *[x for kv in base.items() for x in kv], "--out", str(out))
    assert r.exit_code == 2, r.output
    text = " ".join(r.stderr.split())
    assert str(DATA / name) in r.stderr and all(m in text for m in messages), r.stderr
    assert "Traceback" not in r.output and not out.exists()


def test_flags_that_agree_with_the_file_are_kept(runner, tmp_path):
    flags = ["--sku", "h200-sxm", "--gpus", "4", "--precision", "FP8", "--model", QWEN]
    # a version added to the file's framework, an OSL within 10 % of the mean: the flags label the point
    (p,) = imported(runner, tmp_path, "vllm_bench_serve.json", *flags, "--framework", "vllm-0.12.0", "--osl", "950")
    assert (p["framework"], p["osl"], p["precision"]) == ("vllm-0.12.0", 950, "FP8")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("Inter Token Latency (ms)", "Inter Token Gap (ms)"), "no row 'Inter Token Latency'"),
        (lambda t: t.replace("34.35,", "N/A,", 1), "row 'Inter Token Latency (ms)', column 'p50' is 'N/A'"),
        (lambda t: t.replace(",p50,", ",median,"), "row 'Inter Token Latency (ms)' has no column 'p50'"),
        (lambda t: t.replace("Time To First Token (ms)", "Time To First Token (s)"), "is in s; genai-perf writes ms"),
    ],
)
def test_bad_genai_perf_csv_is_refused(runner, tmp_path, edit, message):
    path = write(tmp_path, "profile_export_genai_perf.csv", edit((DATA / "profile_export_genai_perf.csv").read_text()))
    out = tmp_path / "c.yaml"
    r = run(
        runner, str(path), "--sku", "h200-sxm", "--gpus", "4", "--model", "m", "--precision", "fp8", "--out", str(out)
    )
    assert r.exit_code == 2 and message in r.stderr and str(path) in r.stderr, r.stderr
    assert not out.exists()


def test_an_older_genai_perf_csv_is_read(runner, tmp_path):
    """genai-perf before 2024-11: no p10/p5/p1, Input/Output Sequence Length printed without a unit,
    no Output Token Throughput row: Request Throughput x (ISL + OSL)."""
    text = (
        "Metric,avg,min,max,p99,p95,p90,p75,p50,p25\r\n"
        "Time To First Token (ms),401.20,301.20,640.90,612.40,560.30,498.10,441.70,395.10,352.60\r\n"
        "Inter Token Latency (ms),34.40,32.10,38.40,37.90,36.80,36.10,35.20,34.35,33.60\r\n"
        'Output Sequence Length,"1,000.00","1,000.00","1,000.00","1,000.00","1,000.00","1,000.00","1,000.00","1,000.00","1,000.00"\r\n'
        'Input Sequence Length,"4,000.00","4,000.00","4,000.00","4,000.00","4,000.00","4,000.00","4,000.00","4,000.00","4,000.00"\r\n'
        "\r\nMetric,Value\r\nRequest Throughput (per sec),0.69\r\n"
    )
    path = write(tmp_path, "profile_export_genai_perf.csv", text)
    (p,) = imported(
        runner, tmp_path, str(path), "--sku", "h200-sxm", "--gpus", "4", "--model", "m", "--precision", "fp8"
    )
    assert p["tokens_per_s_per_gpu"] == pytest.approx(0.69 * 5000 / 4) and p["ttft_ms"] == 395.1


def test_the_readme_walkthrough(runner, tmp_path):
    """README `planner throughput import` walkthrough: the vLLM and SGLang examples, then `show`."""
    out = tmp_path / "curves.yaml"
    flags = ["--sku", "h200-sxm", "--gpus", "4", "--precision", "fp8", "--out", str(out)]
    assert run(runner, str(DATA / "vllm_bench_serve.json"), *flags).exit_code == 0
    r = run(runner, str(DATA / "sglang_bench_serving.jsonl"), "--all-lines", *flags)
    assert r.exit_code == 0 and "2 point(s) added, 0 already there, 3 in all" in " ".join(r.stdout.split())
    r = runner.invoke(app, ["throughput", "show", "--curves", str(out), "--interactivity", "30", "--json"])
    assert r.exit_code == 0, r.output
    (h200,) = json.loads(r.stdout)["curves"]
    # between 29.1121 (864.3) and 33.2005 (753.4) tok/s/user
    assert h200["at_target"] == pytest.approx(842.7, abs=0.05)
    assert h200["basis"] == "interpolated between 29.1121 and 33.2005 tok/s/user"
    r = run(runner, str(DATA / "vllm_bench_serve.json"), *flags[:-1], str(tmp_path / "d.yaml"), "--osl", "512")
    assert r.exit_code == 2 and not (tmp_path / "d.yaml").exists()
