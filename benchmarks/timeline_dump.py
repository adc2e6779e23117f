"""Dump training.timeline's events and `convcalc memory --format json` for every library spec,
registry example and a few sharing/attention specs, in every training mode, to one JSON file:
a refactor of the timeline must leave it byte-identical.

    PYTHONPATH=$PWD python benchmarks/timeline_dump.py /tmp/before.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner

import convcalc
from convcalc.cli import cli as cli_group
from convcalc.layers import REGISTRY
from convcalc.training import timeline, setup_for

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests import test_sharing  # noqa: E402
from tests.test_training import _dense_block, _with_parameters  # noqa: E402

MODES = [("float32", None), ("bfloat16", None), ("float32", "bfloat16"), ("float32", "float16")]
OPTIMIZERS = [("sgd", None), ("momentum", None), ("adam", None), ("adamw", None),
              ("adam", "for-loop"), ("adam", "foreach"), ("adam", "fused")]
DEVICES = ["cuda", "cpu"]


def specs():
    """(id, spec, CLI arguments or None)."""
    for path in sorted((ROOT / "convcalc" / "specs").glob("*.yaml")):
        yield f"lib:{path.stem}", convcalc.spec.load_argument(path.stem), [path.stem]
    for kind, record in REGISTRY.items():
        for text in record.examples:
            yield f"ex:{kind}:{text}", convcalc.from_text(text), ["-e", text]
            try:
                with_params = _with_parameters(text)
                spec = convcalc.from_text(with_params)
            except Exception:
                continue
            yield f"exp:{kind}:{with_params}", spec, None
    for name in ("SHARED", "LOOP"):
        yield f"sharing:{name}", convcalc.loads(getattr(test_sharing, name)), None
    for layers in (3, 8):
        yield f"dense:{layers}", convcalc.loads(_dense_block(layers)), None
    for path in ("tests/assets/tiny.yaml", "tests/assets/vit_block.yaml"):
        yield path, convcalc.spec.load_argument(str(ROOT / path)), [str(ROOT / path)]
    yield "text:shares", convcalc.from_text("3x8x8 | conv 3 k3 p1 name=a | conv 3 k3 p1 name=b shares=a "
                                             "| conv 3 k3 p1 shares=b | gap | flatten | linear 4"), None


def dump_timeline(spec, dtype, amp, optimizer, impl, device, input_grad):
    try:
        t = timeline(spec, setup_for(spec, dtype, amp, optimizer, impl, device), input_grad=input_grad)
    except Exception as exc:  # an uncounted kind, a refused setup
        return f"{type(exc).__name__}: {exc}"
    d = t._asdict()
    d["setup"] = list(t.setup)
    d["layers"] = [list(f) for f in t.layers]
    d["events"] = [list(e) for e in t.events]
    d["peaks"] = {b: t.peak(b)[0] for b in (1, 8)}
    return d


def main_() -> None:
    out = {}
    runner = CliRunner()
    for sid, spec, args in specs():
        entry = {}
        for dtype, amp in MODES:
            for optimizer, impl in OPTIMIZERS:
                for device in DEVICES:
                    for input_grad in (False, True):
                        key = f"{dtype}/{amp}/{optimizer}/{impl}/{device}/{input_grad}"
                        entry[key] = dump_timeline(spec, dtype, amp, optimizer, impl, device, input_grad)
        if args is not None:
            for dtype, amp in MODES[:3]:
                for optimizer in ("sgd", "adam", "adamw"):
                    cli = ["memory", *args, "--batch", "1,8", "--optimizer", optimizer, "--format", "json"]
                    if amp:
                        cli += ["--amp", amp]
                    else:
                        cli += ["--dtype", dtype]
                    result = runner.invoke(cli_group, cli)
                    entry["cli:" + " ".join(cli[2:])] = [result.exit_code, result.output]
        out[sid] = entry
    Path(sys.argv[1]).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main_()
