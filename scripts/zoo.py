"""Import torchvision's CNN zoo with convcalc and hold every model against PyTorch.

Run it in an environment where torchvision imports (docs/import.md says which one was used):

    python scripts/zoo.py                      # every model, both ONNX exporters, 2 at a time
    python scripts/zoo.py resnet18 s3d --onnx torchscript
    python scripts/zoo.py --write              # and write the table into docs/import.md

For each model (built with weights=None, in its own process):
- PyTorch: total parameters, buffers, MACs (FlopCounterMode / 2) and output shape, and every
  Conv/ConvTranspose/Linear module's output shape and parameters (forward hooks, first call),
  against `convcalc import torchvision:NAME` analysed; the written YAML spec is read back and must
  give the same totals, and `convcalc verify` on it must agree layer by layer (where fvcore is
  installed);
- ONNX: the model exported by torch.onnx (TorchScript exporter at opset 17, dynamo exporter at
  opset 18) and read by convcalc: MACs and output shape against the PyTorch model's, parameters
  against the initializers the file's Conv/ConvTranspose/Gemm/MatMul/BatchNormalization nodes read
  (exporters fold batch norm into convolutions), and the output shape against onnxruntime's.

Results go to benchmarks/results/zoo.json (one record per model and source).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "zoo.json")
DOC = os.path.join(ROOT, "docs", "import.md")
BEGIN, END = "<!-- zoo table: scripts/zoo.py --write -->", "<!-- end of zoo table -->"

# The families, every size torchvision has (vision transformers are out of scope).
ZOO = {
    "classification": [
        "alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
        "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
        "densenet121", "densenet161", "densenet169", "densenet201", "googlenet", "inception_v3",
        "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
        "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
        "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
        "squeezenet1_0", "squeezenet1_1",
        "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4",
        "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
        "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
        "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf",
        "regnet_x_16gf", "regnet_x_32gf",
        "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf",
        "regnet_y_16gf", "regnet_y_32gf", "regnet_y_128gf",
        "convnext_tiny", "convnext_small", "convnext_base", "convnext_large",
    ],
    "segmentation": [
        "fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50", "deeplabv3_resnet101",
        "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large",
    ],
    "video": ["r3d_18", "mc3_18", "r2plus1d_18", "s3d"],
    # timm's CNNs, a spread of its building blocks (BatchNormAct2d, Conv2dSame, SelectAdaptivePool2d,
    # its own Linear, ConvNeXt's reshaped layer scale); timm:NAME is built with pretrained=False
    "timm": [
        "timm:resnet50", "timm:resnet18d", "timm:seresnext26d_32x4d", "timm:ecaresnet50d", "timm:resnest14d",
        "timm:res2net50_26w_4s", "timm:efficientnet_b0", "timm:tf_efficientnet_b0", "timm:efficientnetv2_rw_s",
        "timm:mobilenetv3_large_100", "timm:mixnet_s", "timm:fbnetc_100", "timm:rexnet_100", "timm:ghostnet_100",
        "timm:convnext_tiny", "timm:densenet121", "timm:regnety_016", "timm:dla34", "timm:cspresnet50",
        "timm:dpn68", "timm:inception_v3", "timm:xception41", "timm:vgg16", "timm:repvgg_a2",
        "timm:hrnet_w18_small", "timm:nfnet_f0", "timm:vit_small_patch16_224",
    ],
}
EXPORTERS = ("torchscript", "dynamo")
FAMILIES = {"classification": "Classification", "segmentation": "Segmentation", "video": "Video",
            "timm": "timm (not the bar: a spread of its CNNs, and a vision transformer that must fail cleanly)"}
WEIGHTED = ("conv", "deconv", "linear")


def truth(model, shape):
    """What PyTorch says: totals, output shape, and each weighted module's output and params."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    seen = {}

    def hook(name):
        def record(module, inputs, output):
            seen.setdefault(name, list(output.shape[1:]))

        return record

    kinds = (torch.nn.modules.conv._ConvNd, torch.nn.Linear)
    hooks = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if isinstance(m, kinds)]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(torch.randn(1, *shape))
    for h in hooks:
        h.remove()
    if isinstance(y, dict):
        y = y["out"]
    modules = dict(model.named_modules())
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "buffers": sum(b.numel() for b in model.buffers()),
        "macs": counter.get_total_flops() // 2,
        "output": list(y.shape[1:]),
        "layers": {name: [out, sum(p.numel() for p in modules[name].parameters())] for name, out in seen.items()},
    }


def from_pytorch(name, model, shape, expected):
    import convcalc
    from convcalc.importers import read
    from convcalc.importers.writer import render

    start = time.perf_counter()
    imported = read(name if ":" in name else f"torchvision:{name}")
    report = convcalc.analyze(imported.spec())
    seconds = time.perf_counter() - start
    got = {"params": report.total.params, "buffers": report.total.buffers, "macs": report.total.macs,
           "output": list(report.output[1:])}
    # modules the forward never runs (GoogLeNet's and Inception's auxiliary classifiers): convcalc
    # names them in a note and leaves them out, so PyTorch's totals are compared without them
    not_run = {"params": sum(p for _, p, _ in imported.not_run), "buffers": sum(b for _, _, b in imported.not_run)}
    want = {**expected, "params": expected["params"] - not_run["params"],
            "buffers": expected["buffers"] - not_run["buffers"]}
    problems = [f"{k}: convcalc {got[k]}, PyTorch {want[k]}" for k in got if got[k] != want[k]]
    layers = {row.name: row for row in report.layers if row.kind in WEIGHTED}
    if set(layers) != set(expected["layers"]):
        problems.append(f"weighted layers differ: {sorted(set(layers) ^ set(expected['layers']))[:5]}")
    for lname, (out, params) in expected["layers"].items():
        row = layers.get(lname)
        ours = list(row.output[1:]) if row is not None else None
        if ours and ours != out and [*ours[1:], ours[0]] == out:
            ours = out  # a Linear on a channels-last view (ConvNeXt) is a 1x1 conv channels first
        if row is not None and (ours, row.params) != (out, params):
            problems.append(f"{lname}: convcalc {list(row.output[1:])} {row.params}, PyTorch {out} {params}")
    text = render(imported)
    written_spec = convcalc.loads(text, "written.yaml")
    written = convcalc.analyze(written_spec)
    if (written.total.params, written.total.macs, written.output) != (report.total.params, report.total.macs,
                                                                       report.output):
        problems.append("the written spec reads back with other totals")
    verified = None
    try:  # `convcalc verify` on the written spec: PyTorch and fvcore, layer by layer (needs fvcore)
        from convcalc.verify import verify

        result = verify(written_spec, batch=1)
        verified = result.ok
        if not result.ok:
            bad = [layer.name for layer in result.layers if not layer.ok]
            problems.append(f"verify disagrees on {len(bad)} layers: {bad[:3]}")
    except ImportError:
        pass
    return {**got, "not_run": [list(t) for t in imported.not_run], "verified": verified, "layers": len(report.layers),
            "weighted": len(layers), "yaml_lines": text.count("\n"),
            "seconds": round(seconds, 2), "problems": problems}


def from_onnx(name, model, shape, expected, exporter, folder):
    import warnings

    import numpy
    import onnx
    import onnxruntime
    import torch

    import convcalc
    from convcalc.importers import read

    path = os.path.join(folder, f"{name.replace(':', '_')}_{exporter}.onnx")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, *shape),), path, dynamo=exporter == "dynamo",
                          opset_version=18 if exporter == "dynamo" else 17)
    export_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = convcalc.analyze(read(path).spec())
    seconds = time.perf_counter() - start
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from onnx_check import file_params  # scripts/onnx_check.py: the same count the tests use

    graph = onnx.load(path, load_external_data=False).graph
    params = file_params(graph)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: numpy.random.randn(1, *shape).astype(numpy.float32)}
    runtime = list(session.run(None, feed)[0].shape[1:])
    got = {"macs": report.total.macs, "output": list(report.output[1:]), "params": report.total.params}
    problems = []
    if got["macs"] != expected["macs"]:
        problems.append(f"macs: convcalc {got['macs']}, PyTorch {expected['macs']}")
    if got["output"] != expected["output"] or runtime != expected["output"]:
        problems.append(f"output: convcalc {got['output']}, onnxruntime {runtime}, PyTorch {expected['output']}")
    if got["params"] != params:
        problems.append(f"params: convcalc {got['params']}, the file's weights {params}")
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    return {**got, "file_params": params, "layers": len(report.layers), "nodes": len(graph.node),
            "export_seconds": round(export_seconds, 1), "seconds": round(seconds, 2), "problems": problems}


def one(name: str, exporters: list[str]) -> dict:
    import torch

    from convcalc.errors import ConvcalcError
    from convcalc.importers.torch_fx import build_model

    torch.manual_seed(0)
    model, _, shape = build_model(name if ":" in name else f"torchvision:{name}")
    expected = truth(model, shape)
    record = {"model": name, "input": list(shape), "pytorch": {k: v for k, v in expected.items() if k != "layers"}}
    record["pytorch"]["weighted"] = len(expected["layers"])
    try:
        record["import"] = from_pytorch(name, model, shape, expected)
    except ConvcalcError as exc:
        record["import"] = {"problems": [f"import failed: {exc}"]}
    with tempfile.TemporaryDirectory() as folder:
        for exporter in exporters:
            try:
                record[exporter] = from_onnx(name, model, shape, expected, exporter, folder)
            except ConvcalcError as exc:
                record[exporter] = {"problems": [f"import failed: {exc}"]}
            except Exception as exc:  # the exporter itself failed: not convcalc's to fix, but recorded
                record[exporter] = {"problems": [f"export failed: {type(exc).__name__}: {str(exc)[:300]}"],
                                    "export_failed": True}
    return record


def run(names: list[str], exporters: list[str], jobs: int) -> list[dict]:
    def child(name):
        proc = subprocess.run([sys.executable, __file__, "--one", name, "--onnx", ",".join(exporters) or "none"],
                              capture_output=True, text=True, cwd=ROOT)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode or not lines:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return {"model": name, "import": {"problems": [f"crashed: {tail[:300]}"]}}
        return json.loads(lines[-1])

    results = []
    with ThreadPoolExecutor(jobs) as pool:
        for record in pool.map(child, names):
            results.append(record)
            bad = [f"{k}: {p}" for k in ("import", *EXPORTERS) for p in record.get(k, {}).get("problems", [])]
            print(f"{record['model']:32} {'ok' if not bad else 'DIFFERS'}", *bad[:4], sep="\n    " if bad else " ",
                  flush=True)
    return results


def table(results: list[dict]) -> str:
    by_name = {r["model"]: r for r in results}
    lines = ["params and MACs are PyTorch's (MACs = FlopCounterMode / 2) and convcalc's; \"exact\" means every check "
             "above agreed. The ONNX files hold fewer parameters where the exporter folded batch norm into the "
             "convolutions.", ""]
    for family, names in ZOO.items():
        lines += [f"**{FAMILIES.get(family, family)}**", "",
                  "| model | input | params | MACs | PyTorch | ONNX (TorchScript, opset 17) | ONNX (dynamo, opset 18) | YAML lines |",
                  "|---|---|---:|---:|---|---|---|---:|"]
        for name in names:
            r = by_name.get(name)
            if r is None:
                continue
            pt, ours = r.get("pytorch", {}), r.get("import", {})
            skipped = sum(p for _, p, _ in ours.get("not_run", []))
            params = f"{pt.get('params', 0) - skipped:,}" + (f" (+{skipped:,} not run)" if skipped else "")
            cells = [name, "x".join(map(str, r.get("input", []))), params, f"{pt.get('macs', 0):,}"]
            for key in ("import", *EXPORTERS):
                cells.append(_verdict(r.get(key)))
            cells.append(str(r.get("import", {}).get("yaml_lines", "")))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _verdict(part: dict | None) -> str:
    if part is None:
        return "—"
    if not part["problems"]:
        if "file_params" in part:
            return f"exact ({part['file_params']:,} params in the file)"
        verified = ", verified" if part.get("verified") else ""
        return f"exact ({part['weighted']} weighted layers{verified})" if "weighted" in part else "exact"
    text = part["problems"][0]
    failed = re.match(r"import failed: (?:torchvision:|timm:)?[^:]*: (.*)", text)
    if failed:  # a clean failure: what it says, short, without the temporary file's path
        message = failed.group(1)
        listed = re.match(r"(\d+) operators? convcalc cannot map: (.*)", message)
        if listed:
            kinds = []
            for item in listed.group(2).split("; "):
                found = re.match(r"(\S+).*?×(\d+) \(", item)
                kinds.append(f"{found.group(1)} ×{found.group(2)}" if found else item.split(" ")[0])
            message = f"{listed.group(1)} unmapped: " + ", ".join(dict.fromkeys(kinds[:3]))
        return "fails: " + message.replace("|", "\\|")[:110]
    return "DIFFERS: " + "; ".join(p.replace("|", "\\|") for p in part["problems"])[:160]


def write_table(results: list[dict]) -> None:
    text = open(DOC, encoding="utf-8").read()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"{DOC} has no '{BEGIN}' line")
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(head + BEGIN + "\n\n" + table(results) + "\n" + END + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", help="torchvision names (default: the whole zoo above)")
    parser.add_argument("--onnx", default=",".join(EXPORTERS), help="exporters to try: torchscript,dynamo or none")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help="write the table into docs/import.md")
    parser.add_argument("--table", action="store_true",
                        help="write the table from benchmarks/results/zoo.json without running anything")
    args = parser.parse_args()
    if args.table:
        write_table(json.load(open(RESULTS)))
        return
    exporters = [e for e in args.onnx.split(",") if e in EXPORTERS]
    if args.one:
        print(json.dumps(one(args.one, exporters)))
        return
    names = args.models or [n for names in ZOO.values() for n in names]
    results = run(names, exporters, args.jobs)
    old = json.load(open(RESULTS)) if os.path.exists(RESULTS) else []
    merged = {r["model"]: r for r in old}
    merged.update({r["model"]: r for r in results})
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump([merged[n] for names_ in ZOO.values() for n in names_ if n in merged], f, indent=1)
    if args.write:
        write_table(list(merged.values()))


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    main()
