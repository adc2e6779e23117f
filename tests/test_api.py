"""The Python API (convcalc/api.py): each command as a function on what the user holds, whose
result's `to_dict()` is that command's `--format json`, and whose mistakes are ConvcalcErrors.

The CLI's JSON is the reference: every function is held against the command run through click on
the same input. Models built here are checked against PyTorch's own counts.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import convcalc
from convcalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
LINE = "3x32x32 | conv 16 k3 p=same | bn | relu | maxpool 2 | gap | linear 10"
YAML = "name: tiny\ninput: [3, 16, 16]\nlayers:\n  - conv: {out: 8, k: 3, p: 1}\n  - relu:\n  - gap:\n"


def cli_json(*args: str) -> object:
    done = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert done.exit_code in (0, 1), done.output
    return json.loads(done.stdout)


# --------------------------------------------------------------------------------------------
# analyze: every kind of input, the CLI's JSON


@pytest.mark.parametrize("given, argv", [
    (LINE, [LINE]),
    ("specs/resnet18.yaml", ["specs/resnet18.yaml"]),
    ("mobilenet_v2", ["mobilenet_v2", "--input", "3x96x96"]),
    ("efficientnet", ["efficientnet", "--set", "width=1.2", "--set", "depth=1.4"]),
])
def test_analyze_is_shapes_json(given: str, argv: list[str]) -> None:
    options = {}
    if "--input" in argv:
        options["input"] = (3, 96, 96)
    if "--set" in argv:
        options["set"] = {"width": 1.2, "depth": 1.4}
    report = convcalc.analyze(given, batch=4, **options)
    assert report.to_dict() == cli_json("shapes", *argv, "--batch", "4", "--format", "json")


def test_analyze_yaml_text_path_and_spec() -> None:
    from_text = convcalc.analyze(YAML)
    assert from_text.output == (1, 8, 1, 1)
    assert from_text.total.params == 8 * 3 * 3 * 3 + 8
    assert convcalc.analyze(Path("specs/lenet5.yaml")).to_dict() == convcalc.analyze("specs/lenet5.yaml").to_dict()
    spec = convcalc.from_text(LINE)
    assert convcalc.analyze(spec, 2).to_dict() == convcalc.analyze(LINE, batch=2).to_dict()  # the old call


def test_analyze_dtype() -> None:
    half = convcalc.analyze(LINE, dtype="float16")
    full = convcalc.analyze(LINE)
    assert half.dtype == "float16"
    assert half.layers[0].output_bytes * 2 == full.layers[0].output_bytes == 16 * 32 * 32 * 4


def test_analyze_module_is_import_json() -> None:
    """An nn.Module object gives what its SOURCE gives on the command line, but for its name and
    source; the counts are PyTorch's; the model's training mode is left as it was."""
    torch = pytest.importorskip("torch")
    from tests.import_models import build_resnet

    model = build_resnet().train()
    report = convcalc.analyze(model, input=(3, 32, 32), batch=2)
    assert model.training
    assert report.total.params == sum(p.numel() for p in model.parameters())
    assert report.output == tuple(model.eval()(torch.randn(2, 3, 32, 32)).shape)
    doc = cli_json("shapes", "tests.import_models:build_resnet", "--input", "3x32x32", "--batch", "2",
                   "--format", "json")
    mine = report.to_dict()
    assert (mine.pop("name"), mine.pop("source")) == ("SmallResNet", "<SmallResNet>")
    assert mine == {key: value for key, value in doc.items() if key not in ("name", "source")}


def test_analyze_onnx_bytes_and_proto(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(8 * 7 * 7, 5)).eval()
    buffer = io.BytesIO()
    torch.onnx.export(model, torch.randn(1, 3, 16, 16), buffer, dynamo=False)
    path = tmp_path / "net.onnx"
    path.write_bytes(buffer.getvalue())
    from_file = convcalc.analyze(str(path)).to_dict()
    for given in (buffer.getvalue(), onnx.load_from_string(buffer.getvalue())):
        doc = convcalc.analyze(given).to_dict()
        assert doc["source"] == "<onnx>"
        assert doc["layers"] == from_file["layers"]
        assert doc["total"]["params"] == (8 * 3 * 3 * 3 + 8) + (8 * 7 * 7 * 5 + 5)


# --------------------------------------------------------------------------------------------
# the other commands


def test_memory_is_memory_json() -> None:
    one = convcalc.memory("resnet18", batch=8, optimizer="adam", amp="bfloat16", fit="24GiB")
    assert one.to_dict() == cli_json("memory", "resnet18", "--batch", "8", "--optimizer", "adam", "--amp",
                                     "bfloat16", "--fit", "24GiB", "--format", "json")
    several = convcalc.memory(LINE, batch=[1, 16])
    assert [r.to_dict() for r in several] == cli_json("memory", LINE, "--batch", "1,16", "--format", "json")
    # the optimizer state the command counts: Adam keeps two values per parameter
    assert one.total.optimizer_bytes == 2 * 4 * one.total.weight_bytes // 4


def test_explain_is_explain_json() -> None:
    result = convcalc.explain("lenet5", "c1", 3, batch=2)
    assert result.to_dict() == cli_json("explain", "lenet5", "c1", "3", "--batch", "2", "--format", "json")
    assert [layer["name"] for layer in result.to_dict()["layers"]] == ["c1", "c3"]


def test_compare_is_compare_json() -> None:
    variants = convcalc.compare("regular", "depthwise-separable", input=(32, 16, 16), out=64, k=3, p="same")
    assert variants.to_dict() == cli_json("compare", "regular", "depthwise-separable", "--input", "32x16x16",
                                          "--out", "64", "-k", "3", "-p", "same", "--format", "json")
    specs = convcalc.compare("resnet18", "resnet50")
    assert specs.to_dict() == cli_json("compare", "resnet18", "resnet50", "--format", "json")
    itself = convcalc.compare("resnet18", batch=8)
    assert itself.to_dict() == cli_json("compare", "resnet18", "--batch", "8", "--format", "json")


def test_check_is_check_json() -> None:
    run = convcalc.check("specs/lenet5.yaml", "specs/resnet18.yaml", max_params="1M", strict=True)
    assert run.to_dict() == cli_json("check", "specs/lenet5.yaml", "specs/resnet18.yaml", "--max-params", "1M",
                                     "--strict", "--format", "json")
    assert run.exit_code == 1  # resnet18's 11.7M parameters are over 1M: a value, not SystemExit
    assert [r.status for r in run.results] == ["pass", "fail"]


def test_verify_is_verify_json() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    checked = convcalc.verify(LINE, batch=2)
    assert checked.to_dict() == cli_json("verify", LINE, "--batch", "2", "--format", "json")
    assert checked.ok and checked.batch == 2
    trained = convcalc.verify(LINE, train=True)
    assert trained.to_dict() == cli_json("verify", LINE, "--train", "--format", "json")
    quick = convcalc.verify("3x8x8 | conv 4 k3 | relu", fvcore=False)
    assert quick.to_dict() == cli_json("verify", "3x8x8 | conv 4 k3 | relu", "--no-fvcore", "--format", "json")


def test_verify_a_module_object() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    checked = convcalc.verify(model, input=(3, 16, 16), fvcore=False)
    assert checked.ok
    assert checked.to_dict()["macs"] == 8 * 16 * 16 * (3 * 3 * 3)


def test_sweep_is_sweep_json() -> None:
    result = convcalc.sweep("efficientnet", input=[(3, 128, 128), (3, 224, 224)], set={"width": [1.0, 1.2], "depth": 1.1})
    assert result.to_dict() == cli_json("sweep", "efficientnet", "--input", "3x128x128,3x224x224", "--set",
                                        "width=1.0,1.2", "--set", "depth=1.1", "--format", "json")
    assert len(result.points) == 2 * 2
    ranged = convcalc.sweep(LINE, batch="1..4")
    assert ranged.to_dict() == cli_json("sweep", LINE, "--batch", "1..4", "--format", "json")
    # MACs grow with the batch: each point's are the batch times the first's
    assert [p.report.total.macs for p in ranged.points] == [b * ranged.points[0].report.total.macs for b in (1, 2, 3, 4)]


def test_sweep_a_module_object_retraces_each_input() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    result = convcalc.sweep(model, input=[(3, 16, 16), (3, 32, 32)])
    assert [p.report.output for p in result.points] == [(1, 8, 14, 14), (1, 8, 30, 30)]
    assert [p.report.total.macs for p in result.points] == [8 * n * n * (3 * 3 * 3) for n in (14, 30)]
    batches = convcalc.sweep(model, input=(3, 16, 16), batch=[1, 4])
    assert [p.report.total.macs for p in batches.points] == [b * 8 * 14 * 14 * 27 for b in (1, 4)]


def test_scale_is_scale_json() -> None:
    result = convcalc.scale("efficientnet", phi=[0, 1, 2])
    assert result.to_dict() == cli_json("scale", "efficientnet", "--phi", "0,1,2", "--format", "json")
    searched = convcalc.scale("efficientnet", phi="0..1", search=True, step=0.25, top=3)
    assert searched.to_dict() == cli_json("scale", "efficientnet", "--phi", "0..1", "--search", "--step", "0.25",
                                          "--top", "3", "--format", "json")


def test_profile_is_profile_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Times differ between two runs; everything else of the document is the command's."""
    pytest.importorskip("torch")
    monkeypatch.setenv("CONVCALC_CACHE_DIR", str(tmp_path))
    spec = "3x16x16 | conv 8 k3 | relu"
    mine = convcalc.profile(spec, batch=[1, 2], warmup=0, iters=2, threads=1).to_dict()
    doc = cli_json("profile", spec, "--batch", "1,2", "--warmup", "0", "--iters", "2", "--threads", "1",
                   "--format", "json")

    def fixed(d: dict) -> dict:  # type: ignore[type-arg]
        settings = {key: value for key, value in d["settings"].items() if key != "date"}
        return {"settings": settings, "peaks": d["peaks"]["flops_per_s"], "keys": sorted(d),
                "layers": [[(layer["name"], layer["flops"], layer["bytes"]) for layer in b["layers"]]
                           for b in d["batches"]]}

    assert fixed(mine) == fixed(doc)
    assert [layer[1] for layer in fixed(mine)["layers"][1]] == [2 * flops for _, flops, _ in fixed(mine)["layers"][0]]


def test_draw_is_draw(tmp_path: Path) -> None:
    page = convcalc.draw(LINE)
    assert page.format == "html"
    done = CliRunner().invoke(cli, ["draw", LINE, "--format", "html"], catch_exceptions=False)
    assert page.text == done.stdout
    for fmt, suffix in (("svg", ".svg"), ("dot", ".dot"), ("mermaid", ".mmd")):
        path = tmp_path / f"net{suffix}"
        written = convcalc.draw(LINE, path, by="macs")
        CliRunner().invoke(cli, ["draw", LINE, "-o", str(tmp_path / f"cli{suffix}"), "--by", "macs"],
                           catch_exceptions=False)
        assert written.format == fmt
        assert path.read_text() == written.text == (tmp_path / f"cli{suffix}").read_text()
    assert str(convcalc.draw(LINE, format="mermaid")).startswith("%%")


def test_report_is_report(tmp_path: Path) -> None:
    one = convcalc.report("resnet18", path=tmp_path / "r.html")
    assert one.text == CliRunner().invoke(cli, ["report", "resnet18"], catch_exceptions=False).stdout
    assert (tmp_path / "r.html").read_text() == one.text
    two = convcalc.report("resnet18", "resnet50", batch=2)
    assert two.text == CliRunner().invoke(cli, ["report", "resnet18", "resnet50", "--batch", "2"],
                                          catch_exceptions=False).stdout


def test_to_yaml_is_import() -> None:
    """The model object writes the spec `convcalc import` writes from its SOURCE, but for the
    first line (where it came from) and the name (the class's, not the callable's)."""
    pytest.importorskip("torch")
    from tests.import_models import build_resnet

    def body(text: str) -> list[str]:
        return [line for line in text.splitlines()[1:] if not line.startswith("name: ")]

    text = convcalc.to_yaml(build_resnet(), input=(3, 32, 32))
    done = CliRunner().invoke(cli, ["import", "tests.import_models:build_resnet", "--input", "3x32x32"],
                              catch_exceptions=False)
    assert body(text) == body(done.stdout) and "blocks:" in text
    assert convcalc.to_yaml("tests.import_models:build_resnet", input=(3, 32, 32)) == done.stdout
    params = sum(p.numel() for p in build_resnet().parameters())
    assert convcalc.analyze(text).total.params == params
    flat = convcalc.to_yaml(build_resnet(), input=(3, 32, 32), flat=True)
    assert "blocks:" not in flat and convcalc.analyze(flat).total.params == params


def test_commands_stay_modules() -> None:
    """convcalc.compare is both the compare package and the function; importing one keeps the other."""
    import inspect

    from convcalc.compare import VARIANTS

    assert "regular" in VARIANTS
    for name in ("explain", "compare", "check", "verify", "profile", "sweep", "scale", "report"):
        assert callable(getattr(convcalc, name)), name
    assert "out" in inspect.signature(convcalc.compare).parameters
    assert "phi" in inspect.signature(convcalc.scale).parameters
    from convcalc.report import Report  # convcalc.report is the results' module too

    assert convcalc.report("lenet5").format == "html" and Report is convcalc.Report


# --------------------------------------------------------------------------------------------
# hostile input: a ConvcalcError naming the problem, never a traceback from inside convcalc


def _modules():  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")

    class Raises(torch.nn.Module):
        def forward(self, x):  # type: ignore[no-untyped-def]
            raise ValueError("the forward refuses")

    class Branches(torch.nn.Module):
        def forward(self, x):  # type: ignore[no-untyped-def]
            return x if x.sum() > 0 else -x

    class Cube(torch.nn.Module):
        def forward(self, x):  # type: ignore[no-untyped-def]
            return torch.special.bessel_j0(x)

    return torch, Raises, Branches, Cube


def test_hostile_models() -> None:
    torch, Raises, Branches, Cube = _modules()
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    cases = [
        (lambda: convcalc.analyze(Raises(), input=(3, 8, 8)), r"<Raises>: tracing the model with torch.fx failed: ValueError: the forward refuses"),
        (lambda: convcalc.analyze(Branches(), input=(3, 8, 8)), r"<Branches>: tracing the model with torch.fx failed"),
        (lambda: convcalc.analyze(conv, input=(3, 8)), r"running the model on an input of 3x8 failed: RuntimeError"),
        (lambda: convcalc.analyze(conv), r"give input="),
        (lambda: convcalc.analyze(Cube(), input=(3, 8, 8)), r"1 operator convcalc cannot map: .*bessel_j0"),
        (lambda: convcalc.analyze(conv, input=(3, 8, 8), set={"width": 2}), r"an imported model has none"),
    ]
    for call, message in cases:
        with pytest.raises(convcalc.ConvcalcError, match=message):
            call()


@pytest.mark.parametrize("call, message", [
    (lambda: convcalc.analyze(42), r"cannot analyze a builtins.int: give a torch.nn.Module"),
    (lambda: convcalc.analyze(["3x8x8"]), r"cannot analyze a builtins.list"),
    (lambda: convcalc.analyze(LINE, input="abc"), r"input abc: input must be a list of integers"),
    (lambda: convcalc.analyze(LINE, input=(3, 32.0, 32)), r"input must be a shape per sample"),
    (lambda: convcalc.analyze(LINE, batch=0), r"batch must be a whole number from 1"),
    (lambda: convcalc.analyze(LINE, batch=True), r"batch must be a whole number"),
    (lambda: convcalc.analyze(LINE, dtype="float8"), r"dtype must be one of"),
    (lambda: convcalc.analyze("efficientnet", set=["width=1"]), r"set must be a mapping"),
    (lambda: convcalc.analyze("efficientnet", set={"widht": 1.2}), r"widht"),
    (lambda: convcalc.analyze(b"not onnx"), r"<onnx>: not an ONNX model"),
    (lambda: convcalc.analyze(b""), r"<onnx>: is empty"),
    (lambda: convcalc.analyze("no/such/file.yaml"), r"no/such/file.yaml: no such file"),
    (lambda: convcalc.analyze("-"), r"standard input"),
    (lambda: convcalc.analyze(convcalc.from_text(LINE), input=(3, 8, 8)), r"a built Spec takes no input="),
    (lambda: convcalc.memory(LINE, optimizer="lion"), r"--optimizer takes"),
    (lambda: convcalc.memory(LINE, fit="lots"), r"fit must be a number"),
    (lambda: convcalc.explain(LINE, "nope"), r"has no layer 'nope'"),
    (lambda: convcalc.compare("regular", input=(3, 8, 8)), r"variants need --input .* and --out"),
    (lambda: convcalc.compare("resnet18", "resnet50", out=3), r"out is for variants"),
    (lambda: convcalc.check(), r"give one or more"),
    (lambda: convcalc.check(LINE, max_params="many"), r"--max-params"),
    (lambda: convcalc.sweep(LINE), r"give an axis to sweep"),
    (lambda: convcalc.sweep(LINE, batch=[0, 1]), r"--batch"),
    (lambda: convcalc.sweep(LINE, batch=[{}]), r"batch: give a value"),
    (lambda: convcalc.sweep("efficientnet", set=["width"]), r"set must be a mapping"),
    (lambda: convcalc.scale(LINE), r"does not declare"),
    (lambda: convcalc.scale("efficientnet", alpha=9), r"--alpha must be from 1 to 4"),
    (lambda: convcalc.scale("efficientnet", top=0), r"top must be a whole number from 1"),
    (lambda: convcalc.scale("efficientnet", phi=[-1]), r"phi must be a whole number"),
    (lambda: convcalc.profile(LINE, iters=1), r"iters must be a whole number from 2"),
    (lambda: convcalc.profile(LINE, dtype="float64"), r"dtype must be one of"),
    (lambda: convcalc.profile(LINE, batch=[]), r"at least one batch"),
    (lambda: convcalc.draw(LINE, "net.txt"), r"cannot tell the format"),
    (lambda: convcalc.draw(LINE, "net.svg", format="dot"), r"names a svg file but --format is dot"),
    (lambda: convcalc.draw(LINE, by="colour"), r"by must be one of"),
    (lambda: convcalc.draw(LINE, expand=True, depth=1), r"give one of them"),
    (lambda: convcalc.draw(LINE, by="time"), r"--by time needs --profile"),
    (lambda: convcalc.draw(LINE, "no/such/folder/x.html"), r"no/such/folder"),
    (lambda: convcalc.report(), r"report takes one model"),
    (lambda: convcalc.report(LINE, path="r.txt"), r"give path='NAME.html'"),
    (lambda: convcalc.to_yaml("resnet18"), r"to_yaml imports a model"),
    (lambda: convcalc.to_yaml(42), r"to_yaml imports a model"),
])
def test_hostile_arguments(call, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(convcalc.ConvcalcError, match=message):
        call()


# --------------------------------------------------------------------------------------------
# the package: what it exports, what it imports


def test_all_is_the_api() -> None:
    assert sorted(convcalc.__all__) == sorted([
        "analyze", "memory", "explain", "compare", "check", "verify", "profile", "sweep", "scale", "draw",
        "report", "to_yaml", "summary", "spec_of", "Page",
        "load", "loads", "from_text", "Spec", "Report", "LayerReport", "Totals", "TrainingReport",
        "ConvcalcError", "SpecError", "ShapeError", "UsageError", "__version__"])
    for name in convcalc.__all__:
        assert getattr(convcalc, name) is not None, name


def test_import_is_light() -> None:
    """`import convcalc` and analyzing a spec load no torch, numpy or pandas."""
    code = ("import sys, convcalc\n"
            "convcalc.analyze('3x32x32 | conv 8 k3 | relu').total\n"
            "convcalc.memory('3x32x32 | conv 8 k3 | relu')\n"
            "convcalc.sweep('3x32x32 | conv 8 k3 | relu', batch=[1, 2]).to_dict()\n"
            "convcalc.draw('3x32x32 | conv 8 k3 | relu')._repr_html_()\n"
            "convcalc.compare('3x32x32 | conv 8 k3', '3x32x32 | conv 8 k5')._repr_html_()\n"
            "print(sorted(m for m in ('torch', 'numpy', 'pandas', 'onnx', 'IPython') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_to_pandas() -> None:
    pytest.importorskip("pandas")
    report = convcalc.analyze(LINE, batch=2)
    frame = report.to_pandas()
    assert list(frame.index) == [layer.name for layer in report.layers]
    assert frame["macs"].sum() == report.total.macs
    assert frame.loc["conv1", "macs"] == 2 * 16 * 32 * 32 * (3 * 3 * 3)
    assert frame.loc["conv1", "output"] == (2, 16, 32, 32)
    train = convcalc.memory(LINE, batch=2).to_pandas()
    assert train["backward_flops"].sum() == convcalc.memory(LINE, batch=2).total.backward_flops


def test_to_pandas_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(convcalc.UsageError, match=r"to_pandas\(\) needs pandas: pip install pandas"):
        convcalc.analyze(LINE).to_pandas()


def test_py_typed_ships() -> None:
    assert (ROOT / "convcalc" / "py.typed").exists()
    text = (ROOT / "pyproject.toml").read_text()
    assert '"py.typed"' in text


# --------------------------------------------------------------------------------------------
# summary: torchinfo's call


def test_summary_is_analyze_with_torchinfo_names() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(8 * 6 * 6, 4))
    out = io.StringIO()
    report = convcalc.summary(model, input_size=(2, 3, 8, 8), file=out)
    assert report.to_dict() == convcalc.analyze(model, input=(3, 8, 8), batch=2).to_dict()
    assert report.total.params == (8 * 3 * 3 * 3 + 8) + (8 * 6 * 6 * 4 + 4)
    printed = out.getvalue()
    assert printed.startswith("Sequential (<Sequential>)") and "total" in printed and "linear" in printed
    assert convcalc.summary(model, input_data=torch.zeros(2, 3, 8, 8), verbose=0) == report
    assert convcalc.summary(model, input_size=(3, 2, 8, 8), batch_dim=1, verbose=0) == report
    assert convcalc.summary(model, input_size=(3, 8, 8), batch_dim=None, verbose=0).batch == 1
    assert convcalc.summary(model, input_size=(1, 3, 8, 8), dtypes=[torch.float16], verbose=0).dtype == "float16"
    quiet = io.StringIO()
    convcalc.summary(model, input_size=(1, 3, 8, 8), verbose=0, file=quiet)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("options, message", [
    ({"input_size": "1x3x8x8"}, r"input_size must be a tuple with the batch"),
    ({"input_size": (1, 3, 8, 8), "input_data": 0}, r"not both"),
    ({"input_data": [1, 2]}, r"input_data must be a tensor"),
    ({"input_size": (1, 3, 8, 8), "batch_dim": 4}, r"batch_dim 4 is not an axis"),
    ({"input_size": (1, 3, 8, 8), "col_names": ["flops"]}, r"'flops' is not one of torchinfo's columns"),
    ({"input_size": (1, 3, 8, 8), "dtypes": ["float16", "float32"]}, r"give one dtype"),
    ({"input_size": (0, 3, 8, 8)}, r"the batch in input_size must be"),
])
def test_summary_refuses(options, message) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    with pytest.raises(convcalc.ConvcalcError, match=message):
        convcalc.summary(torch.nn.Conv2d(3, 8, 3), verbose=0, **options)


# --------------------------------------------------------------------------------------------
# docs/api.md: every ```python block runs, in order, in one namespace


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line, code) of each ```python block, indented ones (in a list item) dedented."""
    import re
    import textwrap

    blocks, lines = [], path.read_text().splitlines()
    i = 0
    while i < len(lines):
        match = re.match(r"(\s*)```python\s*$", lines[i])
        if match:
            start, body = i + 1, []
            i += 1
            while not lines[i].strip().startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append((start + 1, textwrap.dedent("\n".join(body))))
        i += 1
    return blocks


def test_api_doc_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.chdir(ROOT)
    doc = ROOT / "docs" / "api.md"
    blocks = python_blocks(doc)
    assert len(blocks) >= 8
    namespace: dict = {}  # type: ignore[type-arg]
    for line, code in blocks:
        exec(compile(code, f"{doc}:{line}", "exec"), namespace)  # noqa: S102 - the doc's own examples
