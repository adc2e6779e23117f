"""`convcalc verify` as a command: agreement exits 0, a disagreement exits 1 and shows both
values, JSON is machine-readable, and missing extras say how to install them (exit 2)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from convcalc.cli import cli

pytest.importorskip("torch")
pytest.importorskip("fvcore")

SPEC = "3x16x16 | conv 8 k3 p1 | bn | relu | maxpool 2 | flatten | linear 10"


def verify(*args: str):
    return CliRunner().invoke(cli, ["verify", *args])


def test_agreement_exits_0_and_lists_fvcore_unsupported_ops():
    result = verify("-e", SPEC)
    assert result.exit_code == 0, result.output
    assert "all 6 layers agree" in result.stdout
    assert "aten::max_pool2d ×1" in result.stdout  # fvcore's unsupported ops are listed, not dropped


def test_json_has_every_check():
    data = json.loads(verify("-e", SPEC, "--format", "json").stdout)
    assert data["ok"] is True
    conv = data["layers"][0]
    assert [c["metric"] for c in conv["checks"]] == ["shape", "params", "buffers", "fvcore", "flop_counter"]
    shape = conv["checks"][0]
    assert shape["convcalc"] == shape["actual"] == [1, 8, 16, 16]
    # fvcore: 1 per MAC = 8*16*16 outputs * 3*3*3; FlopCounterMode: 2 per MAC
    assert conv["checks"][3]["actual"] == 8 * 16 * 16 * 27
    assert conv["checks"][4]["actual"] == 2 * 8 * 16 * 16 * 27
    # convcalc's own MACs beside them: the conv's, then the linear's 8*8*8 -> 10
    assert conv["macs"] == 8 * 16 * 16 * 27
    assert data["layers"][-1]["macs"] == 8 * 8 * 8 * 10
    assert data["macs"] == 8 * 16 * 16 * 27 + 8 * 8 * 8 * 10


def test_markdown_is_a_pipe_table_a_row_per_layer_and_escapes_names(tmp_path):
    spec = tmp_path / "md.yaml"
    spec.write_text("name: '<img src=x> *net*'\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, k: 3, name: a_b}\n"
                    "  - relu\n")
    result = CliRunner().invoke(cli, ["verify", str(spec), "--format", "markdown", "--no-fvcore"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    # the header, then conv and relu, then the total row
    assert len(rows) == 1 + 2 + 1
    assert rows[1].startswith("| 0 | a_b | conv | 1x4x6x6 | 112 |")  # 4 * 3 * 3 * 3 + 4 params
    assert "<img" not in result.stdout and "&lt;img" in result.stdout  # the spec's name, in the heading


def test_table_shows_convcalc_macs_beside_the_tools():
    result = CliRunner().invoke(cli, ["verify", "-e", SPEC], env={"COLUMNS": "200"})
    header = next(line for line in result.stdout.splitlines() if "fvcore" in line and "MACs" in line)
    assert header.index("MACs") < header.index("fvcore")
    conv = next(line for line in result.stdout.splitlines() if "conv1" in line)
    assert "55.3 k" in conv  # 8*16*16*27 = 55,296


def test_a_disagreement_exits_1_with_both_values(monkeypatch):
    from convcalc.layers import REGISTRY

    relu = type(REGISTRY["relu"])
    monkeypatch.setattr(relu, "params", lambda self, a, x, y: 7)  # a deliberately wrong rule
    result = CliRunner().invoke(cli, ["verify", "-e", SPEC, "--no-fvcore"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "7 ≠ 0" in result.stdout
    assert "1 of 6 layers disagree: relu1" in result.stdout


def test_missing_extras_say_how_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fvcore" else real(name, *a))
    result = verify("-e", SPEC)
    assert result.exit_code == 2
    assert result.stderr == "convcalc: convcalc verify needs fvcore: pip install 'convcalc[torch]'\n"


def test_falls_back_to_real_tensors_when_the_meta_device_cannot_run(monkeypatch):
    import convcalc
    from convcalc import verify as module

    real = module._run

    def no_meta(spec, model, x):
        if x.device.type == "meta":
            raise NotImplementedError("aten::frobnicate has no meta kernel")
        return real(spec, model, x)

    monkeypatch.setattr(module, "_run", no_meta)
    result = module.verify(convcalc.from_text(SPEC), use_fvcore=False)
    assert result.ok
    assert result.notes[0] == ("the meta device could not run this network (aten::frobnicate has no meta kernel); "
                               "shapes, parameters and FlopCounterMode ran on real CPU tensors")
    assert result.layers[0].check("shape").actual == (1, 8, 16, 16)


def test_a_small_network_runs_once_on_the_cpu_model_fvcore_traces(monkeypatch):
    import convcalc
    from convcalc import analysis, torch_bridge, verify as module

    calls = []

    def counted(*args):
        calls.append(args)
        return analysis.analyze(*args)

    monkeypatch.setattr(module, "analyze", counted)
    monkeypatch.setattr(torch_bridge, "analyze", counted)  # what build() would run without a Report
    result = module.verify(convcalc.from_text(SPEC))
    assert result.ok
    assert len(calls) == 1  # the builder reads the Report verify already has
    assert result.notes == ("shapes, parameters and FlopCounterMode ran on real CPU tensors "
                            "(for a small network, quicker than starting the meta device)",
                            "fvcore traced the network with real tensors on the CPU (its tracer needs them)")
    assert result.layers[0].check("fvcore").actual == 8 * 16 * 16 * 27
    assert result.layers[0].check("flop_counter").actual == 2 * 8 * 16 * 16 * 27


def test_a_large_network_makes_its_hooked_pass_on_the_meta_device(monkeypatch):
    import convcalc
    from convcalc import verify as module

    monkeypatch.setattr(module, "CPU_PASS_MACS", 8 * 16 * 16 * 27)  # SPEC has 8*16*16*27 + 8*8*8*10 MACs
    result = module.verify(convcalc.from_text(SPEC))
    assert result.ok
    assert result.notes == ("shapes, parameters and FlopCounterMode ran on the meta device (no memory allocated)",
                            "fvcore traced the network with real tensors on the CPU (its tracer needs them)")
    assert result.layers[0].check("fvcore").actual == 8 * 16 * 16 * 27
    assert result.layers[0].check("flop_counter").actual == 2 * 8 * 16 * 16 * 27


def test_verify_leaves_dynamo_unimported_and_the_process_as_it_was():
    """FlopCounterMode's first use would import torch._dynamo (about a second); verify marks its
    dispatch method for the run only, puts torch's thread count back, and the garbage collector's
    frozen objects: none after a verify, and a caller's own left frozen."""
    import subprocess
    import sys

    code = f"""
import gc, sys, torch
from torch.utils import flop_counter
import convcalc
from convcalc.verify import verify
torch.set_num_threads(3)
ok = verify(convcalc.from_text({SPEC!r})).ok
raw = flop_counter._FlopCounterMode.__dict__["__torch_dispatch__"].__wrapped__
print(ok, torch.get_num_threads(), hasattr(raw, "__dynamo_disable"), gc.get_freeze_count(),
      sorted(m for m in ("torch._dynamo", "sympy") if m in sys.modules))
gc.freeze()
frozen = gc.get_freeze_count()
verify(convcalc.from_text({SPEC!r}))
print(0 < gc.get_freeze_count() <= frozen)  # some may be freed meanwhile
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["True 3 False 0 []", "True"]


def test_verify_builds_without_drawing_random_weights_and_build_still_draws_them():
    """Drawing ResNet-50's 25 M random weights took as long as running it; verify compares no
    values, so its model is built with zeros. The builder itself still initializes as torch does."""
    import convcalc
    from convcalc import verify as module
    from convcalc.torch_bridge import build

    spec = convcalc.from_text(SPEC)
    model, x = module._model(spec, convcalc.analyze(spec), 1, "cpu")
    assert x.shape == (1, 3, 16, 16)
    conv, linear = model.get_submodule("conv1"), model.get_submodule("linear1")
    assert all(not p.any() for p in (*conv.parameters(), *linear.parameters()))
    drawn = build(spec).get_submodule("conv1").weight
    assert drawn.any() and drawn.abs().max() <= 1 / (3 * 3 * 3) ** 0.5  # kaiming_uniform_(a=√5): ±1/√fan_in


def test_every_verify_format_has_a_renderer():
    from convcalc.reporters.verification import RENDERERS, VerifyFormat

    assert set(RENDERERS) == set(VerifyFormat)
