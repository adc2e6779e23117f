"""convcalc's model of each other tool (convcalc.peers) against the tool itself, run for real in
its own process (convcalc.peer_run): on every model here, residual 0 for every figure the tool
prints. A test for a tool that is not installed skips, naming it (pip install 'convcalc[tools]')."""

from __future__ import annotations

import importlib.util
import json

import pytest

pytest.importorskip("torch")

from convcalc.analysis import analyze
from convcalc.peer_run import run
from convcalc.peers import TOOLS, predict
from convcalc.sources import load_argument
from convcalc.spec import Overrides, from_text

MODELS = [
    # (argument, input per sample for a SOURCE, batch)
    ("3x8x8 | conv 4 k3 | bn | relu | maxpool 2 | deconv 2 k3 s2 | gap | flatten | linear 5", None, 2),
    ("lenet5", None, 1),
    ("resnet18", None, 1),
    ("tests.import_models:build_functional", (3, 16, 16), 2),
    ("tests.import_models:build_vit", (3, 32, 32), 2),
]


def _spec(argument, shape):
    return load_argument(argument, Overrides(shape) if shape else None)


def _needs(tool):
    module = "torch" if tool == "flopcounter" else tool
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{tool} is not installed (pip install 'convcalc[tools]')")


@pytest.mark.slow
@pytest.mark.parametrize("tool", list(TOOLS))
@pytest.mark.parametrize("argument,shape,batch", MODELS, ids=[m[0].split(":")[-1][:24] for m in MODELS])
def test_prediction_is_exact(tool, argument, shape, batch):
    _needs(tool)
    spec = _spec(argument, shape)
    got = run(tool, spec, batch)
    assert "error" not in got, got
    prediction = predict(TOOLS[tool], spec, analyze(spec, batch))
    assert prediction.exact, prediction.why
    for key, value in prediction.predicted.items():
        assert got["printed"][key] == value, (key, got["printed"][key], value, prediction.terms[key])
        # the prediction is convcalc's figure plus its named terms, nothing else
        assert value == prediction.reference[key] + sum(prediction.terms[key].values())


# One conv (bias) + BN + ReLU at batch 2, worked by hand: docs/tools.md's example.
# 3x8x8 -> conv 4 k3 -> 4x6x6: MACs per sample 4 * 36 * 27 = 3,888; BN and ReLU see 4 * 36 = 144 per sample.
SMALL = "3x8x8 | conv 4 k3 | bn | relu"
B, MACS, N, PARAMS = 2, 4 * 36 * 27, 4 * 36, 3 * 4 * 9 + 4 + 2 * 4
WORKED = {
    "thop": {"macs": B * MACS + 4 * B * N, "params": PARAMS},  # BN: 2 per element, doubled (affine)
    # per image: conv + bias (144) + BN (2 x 144, affine) + ReLU (144); F.relu again, over the batch (2 x 144)
    "ptflops": {"macs": MACS + N + 2 * N + N + B * N, "params": PARAMS},
    # conv: weights and bias per output position; BN: its 8 parameters times the batch
    "torchinfo": {"total_mult_adds": B * MACS + B * N + B * 8, "total_params": PARAMS, "trainable_params": PARAMS},
    "fvcore": {"flops": B * MACS + 2 * B * N},  # BN: 2 per element
    "flopcounter": {"flops": 2 * B * MACS},
}


@pytest.mark.parametrize("tool", list(WORKED))
def test_worked_example_prediction(tool):
    spec = from_text(SMALL)
    assert predict(TOOLS[tool], spec, analyze(spec, B)).predicted == WORKED[tool]


@pytest.mark.slow
@pytest.mark.parametrize("tool", list(WORKED))
def test_worked_example_printed(tool):
    _needs(tool)
    got = run(tool, from_text(SMALL), B)
    assert {k: got["printed"][k] for k in WORKED[tool]} == WORKED[tool]


def test_unmodelled_kind_is_not_exact():
    spec = from_text("3x8x8 | fftconv 4 k3")
    prediction = predict(TOOLS["thop"], spec, analyze(spec, 1))
    assert not prediction.exact and "fftconv" in prediction.why


@pytest.mark.slow
def test_cli_json_has_tools(tmp_path):
    import subprocess
    import sys

    _needs("thop")
    done = subprocess.run([sys.executable, "-m", "convcalc", "verify", "-e", SMALL, "--batch", "2",
                           "--tools", "thop,flopcounter", "--format", "json"], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    tools = {t["name"]: t for t in doc["tools"]}
    assert tools["thop"]["printed"] == WORKED["thop"] and tools["thop"]["residual"] == {"macs": 0, "params": 0}
    assert tools["flopcounter"]["terms"] == {"flops": {"2 FLOPs per MAC": B * MACS}}


def test_cli_unknown_tool():
    from click.testing import CliRunner

    from convcalc.cli import cli

    result = CliRunner().invoke(cli, ["verify", "-e", SMALL, "--tools", "nope"])
    assert result.exit_code == 2 and "unknown tool 'nope'" in result.output
