"""The spec library reproduces the published numbers, every spec verifies against PyTorch,
README's library table is what scripts/library_table.py generates, and the library is installed
with the package and found by name from any folder (`convcalc shapes resnet50`, `--list`)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import convcalc
from convcalc import library
from convcalc.cli import cli
from convcalc.spec import Overrides

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))

# spec, input, params (exact), GMACs as published (MACs: conv + linear, bias excluded, which is
# what torchvision publishes as "GFLOPS"), compared at the printed precision
PUBLISHED = [
    ("lenet5", (1, 32, 32), 61_706, "0.000417"),
    ("alexnet", (3, 224, 224), 61_100_840, "0.714"),
    ("vgg16", (3, 224, 224), 138_357_544, "15.47"),
    ("resnet18", (3, 224, 224), 11_689_512, "1.814"),
    ("resnet50", (3, 224, 224), 25_557_032, "4.089"),
    ("resnext50_32x4d", (3, 224, 224), 25_028_904, "4.23"),
    ("preact_resnet18", (3, 32, 32), 11_172_170, "0.555"),
    ("densenet121", (3, 224, 224), 7_978_856, "2.834"),
    ("se_resnet50", (3, 224, 224), 28_088_024, "4.092"),
    ("unet", (1, 572, 572), 31_030_658, "150.4"),
    ("mobilenet_v1", (3, 224, 224), 4_231_976, "0.569"),
    ("mobilenet_v2", (3, 224, 224), 3_504_872, "0.301"),
    ("mobilenet_v3_small", (3, 224, 224), 2_542_856, "0.057"),
    ("efficientnet_b0", (3, 224, 224), 5_288_548, "0.386"),
    ("shufflenet_v2_x1_0", (3, 224, 224), 2_278_604, "0.145"),
    ("squeezenet1_0", (3, 224, 224), 1_248_424, "0.819"),
    ("convnext_tiny", (3, 224, 224), 28_589_128, "4.456"),
    ("googlenet", (3, 224, 224), 6_624_904, "1.498"),
    ("inception_v3", (3, 299, 299), 23_834_568, "5.713"),
    ("r3d_18", (3, 16, 112, 112), 33_371_472, "40.70"),
    ("vit_b_16", (3, 224, 224), 86_567_656, "17.564"),  # its "GFLOPS" include attention's QKᵀ and times-V products
    ("vit_b_32", (3, 224, 224), 88_224_232, "4.409"),
]


@pytest.mark.parametrize("name, shape, params, gmacs", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_numbers(name, shape, params, gmacs):
    report = convcalc.analyze(convcalc.load(ROOT / "specs" / f"{name}.yaml"))
    assert report.input == (1, *shape)
    assert report.total.params == params
    decimals = len(gmacs.split(".")[1])
    assert f"{report.total.macs / 1e9:.{decimals}f}" == gmacs


# 3D U-Net (Çiçek et al., MICCAI 2016) publishes its parameters, 19,069,955, and no MACs. They are
# the fourteen 3x3x3 convs with bias (27 * C_in * C_out + C_out), the three 2x2x2 up-convs keeping
# their channels without bias (8 * C * C), the 1x1x1 head with bias, and batch norm without a
# learned scale and shift (0): specs/unet3d.yaml explains why only that variant gives the number.
UNET3D_CONVS = [(3, 32), (32, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512),  # analysis
                (512 + 256, 256), (256, 256), (256 + 128, 128), (128, 128), (128 + 64, 64), (64, 64)]  # synthesis


def test_unet3d_has_the_papers_parameters_and_output():
    report = convcalc.analyze(convcalc.load(ROOT / "specs" / "unet3d.yaml"))
    params = (sum(27 * cin * cout + cout for cin, cout in UNET3D_CONVS) + sum(8 * c * c for c in (512, 256, 128))
              + 64 * 3 + 3)
    assert params == report.total.params == 19_069_955
    assert report.input == (1, 3, 116, 132, 132)  # C, D (z), H (y), W (x): the paper's 132x132x116 tile
    assert report.output == (1, 3, 28, 44, 44)  # the paper's 44x44x28
    channels = sum(cout for _, cout in UNET3D_CONVS)
    assert report.total.buffers == 2 * channels + 14  # running mean and variance, one counter per bn


# The 2012 paper's AlexNet (specs/alexnet_paper.yaml), layer by layer: a conv has
# K * (F * F * C / groups) + K params and H' * W' * K * (F * F * C / groups) MACs; a linear
# F_in * F_out + F_out params and F_in * F_out MACs. Feature maps 55 -> 27 -> 13 -> 6.
ALEXNET_PAPER = [  # name, params, MACs
    ("conv1", 96 * (11 * 11 * 3) + 96, 55 * 55 * 96 * (11 * 11 * 3)),
    ("conv2", 256 * (5 * 5 * 96 // 2) + 256, 27 * 27 * 256 * (5 * 5 * 96 // 2)),
    ("conv3", 384 * (3 * 3 * 256) + 384, 13 * 13 * 384 * (3 * 3 * 256)),
    ("conv4", 384 * (3 * 3 * 384 // 2) + 384, 13 * 13 * 384 * (3 * 3 * 384 // 2)),
    ("conv5", 256 * (3 * 3 * 384 // 2) + 256, 13 * 13 * 256 * (3 * 3 * 384 // 2)),
    ("fc6", (256 * 6 * 6) * 4096 + 4096, (256 * 6 * 6) * 4096),
    ("fc7", 4096 * 4096 + 4096, 4096 * 4096),
    ("fc8", 4096 * 1000 + 1000, 4096 * 1000),
]


def test_alexnet_paper_layer_by_layer():
    report = convcalc.analyze(convcalc.load(ROOT / "specs" / "alexnet_paper.yaml"))
    assert report.input == (1, 3, 227, 227)
    for name, params, macs in ALEXNET_PAPER:
        assert (report.layer(name).params, report.layer(name).macs) == (params, macs), name
    # everything else (relu, lrn, maxpool, flatten, dropout) has no params and no MACs
    assert report.total.params == sum(params for _, params, _ in ALEXNET_PAPER)
    assert report.total.macs == sum(macs for _, _, macs in ALEXNET_PAPER)
    # the widely cited total for the grouped two-GPU network (Caffe's bvlc_alexnet) holds exactly
    assert report.total.params == 60_965_224
    assert report.total.macs == 724_406_816
    assert report.output == (1, 1000)
    # the response norms: no params, size + 4 = 9 flops per element (docs/costs.md)
    assert (report.layer("norm1").params, report.layer("norm1").flops) == (0, 96 * 55 * 55 * (5 + 4))
    assert report.layer("norm2").flops == 256 * 27 * 27 * (5 + 4)


def test_alexnet_paper_lrn_computes_the_papers_formula(torch):
    # The paper: b_i = a_i / (k + alpha * sum of a_j^2 for j from max(0, i - n/2) to
    # min(N - 1, i + n/2))^beta with n = 5, k = 2, alpha = 1e-4, beta = 0.75. PyTorch's
    # LocalResponseNorm divides alpha by size, so the spec's alpha is 5 * 1e-4.
    from convcalc.torch_bridge import build

    spec = convcalc.load(ROOT / "specs" / "alexnet_paper.yaml")
    a = next(node.args for node in spec.nodes if node.name == "norm1")
    assert (a["size"], a["alpha"], a["beta"], a["k"]) == (5, 5 * 1e-4, 0.75, 2)
    net = build(convcalc.from_text(f"8x3x3 | lrn {a['size']} alpha={a['alpha']} beta={a['beta']} k={a['k']}")).double()
    torch.manual_seed(0)
    x = torch.randn(2, 8, 3, 3, dtype=torch.float64) * 30  # large enough for the sum to matter
    channels = x.shape[1]
    sums = torch.stack([(x[:, max(0, i - 2):min(channels - 1, i + 2) + 1] ** 2).sum(1) for i in range(channels)], 1)
    paper = x / (2 + 1e-4 * sums) ** 0.75
    assert torch.allclose(net(x), paper, rtol=1e-12)
    assert not torch.allclose(net(x), x / 2**0.75, rtol=1e-3)


# ViT-B/16 and B/32 as torchvision builds them (specs/vit_b_16.yaml, vit_b_32.yaml), with E = 768
# wide tokens, N = (224 / patch)² + 1 of them (the patches and the class token), 12 heads, an MLP of
# 3072 and 12 encoder layers. Per layer: two LayerNorms (2E each), nn.MultiheadAttention's packed
# q/k/v projection (3E x E + 3E) and out projection (E x E + E), the MLP's two linears; MACs: the
# four projections N * E * E each, QKᵀ and the product with V N * N * E each (N * N * E / 12 per
# head, over 12 heads), the MLP 2 * N * E * 3072.
E, MLP, DEPTH = 768, 3072, 12
VIT_LAYER_PARAMS = 2 * (2 * E) + (3 * E * E + 3 * E) + (E * E + E) + (E * MLP + MLP) + (MLP * E + E)


@pytest.mark.parametrize("name, patch, published, without_products", [
    ("vit_b_16", 16, 86_567_656, "16.85"), ("vit_b_32", 32, 88_224_232, "4.36")])
def test_vit_layer_by_layer(name, patch, published, without_products):
    report = convcalc.analyze(convcalc.load(ROOT / "specs" / f"{name}.yaml"))
    grid = 224 // patch
    n = grid * grid + 1
    layer = "encoder.layers.encoder_layer_0"
    assert report.layer(f"{layer}.self_attention").params == 4 * E * E + 4 * E
    assert report.layer(f"{layer}.self_attention").macs == 4 * n * E * E + 2 * n * n * E
    assert report.layer(f"{layer}.mlp.0").output == (1, n, MLP)
    assert report.layer("encoder.layers.encoder_layer_11.add_1").output == (1, n, E)  # torch: 1x197x768 (B/16)
    assert report.layer("encoder.pos_embedding").params == n * E
    assert report.layer("conv_proj").macs == grid * grid * E * (3 * patch * patch)
    assert report.output == (1, 1000)
    # the class token's x[:, 0] (slice, flatten) keeps the patch's 2-D field: patch x patch + global
    head = report.layer("heads.head")
    assert [axis[0] for axis in head.receptive_field] == [patch, patch] and head.global_context
    params = (E * 3 * patch * patch + E) + E + n * E + DEPTH * VIT_LAYER_PARAMS + 2 * E + (E * 1000 + 1000)
    macs = grid * grid * E * (3 * patch * patch) + DEPTH * (4 * n * E * E + 2 * n * n * E + 2 * n * E * MLP) + E * 1000
    assert report.total.params == params == published  # torchvision's num_params
    assert report.total.macs == macs
    # without the two products of activations (what thop and torchinfo count)
    assert f"{(macs - DEPTH * 2 * n * n * E) / 1e9:.2f}" == without_products


def test_unet_output_is_388x388_with_two_classes():
    assert convcalc.analyze(convcalc.load(ROOT / "specs" / "unet.yaml")).output == (1, 2, 388, 388)


def test_the_designed_specs_exist_and_every_spec_names_its_paper():
    names = {p.stem for p in SPECS}
    assert {p[0] for p in PUBLISHED} | {"tcn", "shiftnet", "textcnn", "alexnet_paper"} <= names
    for path in SPECS:
        assert path.read_text(encoding="utf-8").startswith("# "), path.name


def test_tcn_dilations_reach_32_over_16000_samples():
    spec = convcalc.load(ROOT / "specs" / "tcn.yaml")
    assert spec.input == (1, 16_000)
    dilations = {node.args["d"][0] for node in spec.nodes if node.kind == "conv"}
    assert {1, 2, 4, 8, 16, 32} <= dilations


@pytest.mark.slow
@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_spec_verifies_against_pytorch(path, torch):
    pytest.importorskip("fvcore")
    from convcalc.verify import verify

    result = verify(convcalc.load(path))
    bad = {layer.name: [c for c in layer.checks if not c.ok] for layer in result.layers if not layer.ok}
    assert result.ok, bad


def test_readme_library_table_is_current():
    module_spec = importlib.util.spec_from_file_location("library_table", ROOT / "scripts" / "library_table.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert module.START in readme, "README.md lost its library table markers"
    assert module.replaced(readme, module.table()) == readme, "run: python scripts/library_table.py --write"


# --------------------------------------------------------------------------------------------
# The library by name, from any folder


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A folder that is not the repository, as a new user's would be."""
    monkeypatch.chdir(tmp_path)
    for var in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def cli_run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_specs_at_the_root_is_the_packaged_library():
    # specs/ is a link to convcalc/specs/, so the paths in the docs and the installed files are one set
    assert (ROOT / "specs").resolve() == Path(library.FOLDER).resolve()
    assert library.names() == [p.stem for p in SPECS]
    assert len(library.names()) == 31


@pytest.mark.parametrize("argument", ["resnet50", "resnet50.yaml", "library:resnet50"])
def test_a_library_name_loads_from_any_folder(elsewhere, argument):
    result = cli_run("shapes", argument, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["source"] == "library:resnet50"
    assert data["total"]["params"] == 25_557_032  # as test_published_numbers pins for specs/resnet50.yaml


SMALL = "input: [3, 8, 8]\nlayers: [{conv: {out: 4, k: 3}}]\n"  # 4 * (3 * 3 * 3) + 4 = 112 params


@pytest.mark.parametrize("filename", ["resnet50", "resnet50.yaml"])
def test_an_existing_file_wins_over_the_library(elsewhere, filename):
    (elsewhere / filename).write_text(SMALL, encoding="utf-8")
    data = json.loads(cli_run("shapes", filename, "--format", "json").stdout)
    assert (data["source"], data["total"]["params"]) == (filename, 4 * (3 * 3 * 3) + 4)
    # library:NAME always means the library's spec, whatever the folder holds
    data = json.loads(cli_run("shapes", f"library:{filename}", "--format", "json").stdout)
    assert (data["source"], data["total"]["params"]) == ("library:resnet50", 25_557_032)


def test_a_path_with_a_folder_is_never_a_library_name(elsewhere):
    result = cli_run("shapes", "nets/resnet50.yaml")
    assert result.exit_code == 2
    assert result.stderr == "convcalc: nets/resnet50.yaml: no such file (did you mean 'resnet50'?)\n"


@pytest.mark.parametrize("argument, line", [
    ("resnt50", "convcalc: resnt50: no such file (did you mean 'resnet50'?)"),
    ("resnet_50.yaml", "convcalc: resnet_50.yaml: no such file (did you mean 'resnet50'?)"),
    ("model.yaml", "convcalc: model.yaml: no such file"),  # nothing close: no suggestion
    ("library:resnt50", "convcalc: no spec 'resnt50' in the library (did you mean 'resnet50'?); "
                        "'convcalc shapes --list' shows it"),
    ("library:", "convcalc: no spec '' in the library; 'convcalc shapes --list' shows it"),
])
def test_a_missing_spec_says_no_such_file_and_suggests_a_library_name(elsewhere, argument, line):
    result = cli_run("shapes", argument)
    assert (result.exit_code, result.stderr, result.stdout) == (2, line + "\n", "")


def test_compare_and_check_take_library_names(elsewhere):
    result = cli_run("compare", "resnet50", "se_resnet50", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["a"]["source"], data["b"]["source"]) == ("library:resnet50", "library:se_resnet50")
    assert data["a"]["total"]["params"] == 25_557_032 and data["b"]["total"]["params"] == 28_088_024

    result = cli_run("compare", "resnt50", "se_resnet50")
    assert result.exit_code == 2
    assert "'resnt50' is neither a variant nor a spec file (did you mean 'resnet50'?)" in result.stderr

    result = cli_run("check", "lenet5", "--max-macs", "400k")  # LeNet-5's 417 k MACs are over 400 k
    assert result.exit_code == 1
    assert "lenet5: macs 416,520 is over the budget of 400,000 (--max-macs 400k) by 16,520" in result.stdout
    result = cli_run("check", "lenet5", "resnt50")
    assert result.exit_code == 2
    assert result.stderr == "convcalc: resnt50: no such file (did you mean 'resnet50'?)\n"


def test_verify_and_profile_take_library_names(elsewhere, torch):
    pytest.importorskip("fvcore")
    result = cli_run("verify", "lenet5", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["source"] == "library:lenet5"
    result = cli_run("profile", "lenet_5", "--device", "cpu")  # refused while loading, before any timing
    assert result.exit_code == 2
    assert result.stderr == "convcalc: lenet_5: no such file (did you mean 'lenet5'?)\n"


def test_list_shows_every_library_spec_in_80_columns_in_a_pipe(elsewhere):
    result = cli_run("shapes", "--list")
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = {line.split()[1]: line for line in lines if line.startswith("│ ") and "name" not in line}
    assert list(rows) == library.names()
    assert "│ = resnet: ResNet-50 " in rows["resnet50"] and "│ 3x224x224 " in rows["resnet50"]
    assert rows["resnet50"].rstrip("│ ").endswith("25.6 M │ 4.09 G")  # 25,557,032 params, 4,089,184,256 MACs


def test_list_fits_a_wider_terminal_with_more(elsewhere, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    lines = cli_run("shapes", "--list").stdout.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert any("FLOPs" in line for line in lines)  # dropped at 80 columns, shown at 120
    assert any("ShiftResNet-20 for CIFAR-10 (expansion 3)" in line for line in lines)  # cut at 80


def test_list_as_json_is_every_spec_with_its_exact_totals(elsewhere):
    data = json.loads(cli_run("shapes", "--list", "--format", "json").stdout)
    assert data["schema"] == 1
    assert [s["name"] for s in data["specs"]] == library.names()
    for entry in data["specs"]:
        report = convcalc.analyze(convcalc.load(ROOT / "specs" / f"{entry['name']}.yaml"))
        assert entry["source"] == f"library:{entry['name']}"
        assert entry["input"] == list(report.input) and entry["total"] == report.to_dict()["total"]
    resnet50 = next(s for s in data["specs"] if s["name"] == "resnet50")
    assert (resnet50["network"], resnet50["total"]["macs"]) == ("ResNet-50", 4_089_184_256)
    by_name = {s["name"]: s for s in data["specs"]}
    assert by_name["resnet50"]["args"] == {}  # a fixed spec
    assert by_name["resnet"]["args"] == {"depth": 50, "groups": 1, "width": 64}  # a parametric one, at its defaults
    # each fixed spec of a family is one setting of its parametric spec: one definition
    assert by_name["resnet50"]["base"] == {"spec": "resnet", "set": {"depth": 50}}
    assert by_name["resnext50_32x4d"]["base"] == {"spec": "resnet", "set": {"depth": 50, "groups": 32, "width": 4}}
    assert by_name["mobilenet_v2"]["base"] == {"spec": "mobilenetv2", "set": {"width": 1.0}}
    assert by_name["efficientnet_b0"]["base"] == {"spec": "efficientnet", "set": {"width": 1.0, "depth": 1.0}}
    assert by_name["resnet"]["base"] is None


@pytest.mark.parametrize("fmt, header", [("csv", "name,network,is,source,input,params,macs,flops,peak_activation_bytes"),
                                         ("markdown", "| name | network | input | params | MACs |")])
def test_list_in_csv_and_markdown(elsewhere, fmt, header):
    lines = cli_run("shapes", "--list", "--format", fmt).stdout.splitlines()
    assert lines[0] == header
    assert len(lines) == 1 + (fmt == "markdown") + len(library.names())
    resnet50 = next(line for line in lines if "resnet50" in line and "se_" not in line)
    assert "25557032" in resnet50 if fmt == "csv" else "25,557,032" in resnet50


@pytest.mark.parametrize("args", [["--list", "resnet50"], ["--list", "-e", "3x8x8 | relu"], ["--list", "--batch", "2"]])
def test_list_takes_no_spec(elsewhere, args):
    result = cli_run("shapes", *args)
    assert result.exit_code == 2
    assert result.stderr == "convcalc: --list takes no SPEC, -e, --batch or --summary: it lists the library's specs as they are\n"


def test_shapes_lists_the_library_folder_only_for_a_missing_path():
    # start-up stays fast: loading an existing file never lists convcalc/specs/
    code = ("import os, sys\n"
            "listed = []\n"
            "real = os.listdir\n"
            "os.listdir = lambda p='.': (listed.append(str(p)), real(p))[1]\n"
            "from convcalc.cli import main\n"
            "sys.argv = ['convcalc', 'shapes', sys.argv[1]]\n"
            "try:\n"
            "    main()\n"
            "except SystemExit:\n"
            "    pass\n"
            "sys.stderr.write(repr([p for p in listed if p.endswith('specs')]))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argument, lists in (("specs/lenet5.yaml", False), ("lenet5", True)):
        done = subprocess.run([sys.executable, "-c", code, argument], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
        assert ("specs']" in done.stderr) is lists, (argument, done.stderr)


@pytest.mark.slow
def test_a_wheel_carries_the_library(tmp_path):
    """`pip install .` from a clean clone installs the specs (the bug: they stayed in the checkout)."""
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools in this environment")
    # a copy of what a clone has, so that no build/ folder is left in the checkout or reused from it
    source = tmp_path / "clone"
    shutil.copytree(ROOT / "convcalc", source / "convcalc", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("convcalc-*.whl")
    packaged = {Path(n).stem for n in zipfile.ZipFile(wheel).namelist() if n.startswith("convcalc/specs/")}
    assert packaged == set(library.names())


# -- layer names: torchvision's module paths (model.named_modules()), as `convcalc import` names them

# From torchvision/models/resnet.py: ResNet.conv1, bn1, relu, maxpool, layer1..4 (nn.Sequential of
# blocks 0..n-1), avgpool, fc; Bottleneck.conv1..3, bn1..3, one `relu` module called three times
# (the importer's relu, relu_1, relu_2), downsample = Sequential(conv1x1, norm) -> downsample.0, .1;
# the residual `out += identity` is no module: the importer's `add` in the block's scope.
RESNET50_NAMES = (["conv1", "bn1", "relu", "maxpool"]
                  + [f"layer{stage}.{i}.{part}" for stage, n in zip((1, 2, 3, 4), (3, 4, 6, 3)) for i in range(n)
                     for part in ("conv1", "bn1", "relu", "conv2", "bn2", "relu_1", "conv3", "bn3")
                     + (("downsample.0", "downsample.1") if i == 0 else ()) + ("add", "relu_2")]
                  + ["avgpool", "flatten", "fc"])
RESNET18_NAMES = (["conv1", "bn1", "relu", "maxpool"]
                  + [f"layer{stage}.{i}.{part}" for stage in (1, 2, 3, 4) for i in range(2)
                     for part in ("conv1", "bn1", "relu", "conv2", "bn2")
                     + (("downsample.0", "downsample.1") if i == 0 and stage > 1 else ()) + ("add", "relu_1")]
                  + ["avgpool", "flatten", "fc"])


@pytest.mark.parametrize("name, expected", [("resnet50", RESNET50_NAMES), ("resnext50_32x4d", RESNET50_NAMES),
                                            ("resnet18", RESNET18_NAMES), ("resnet", RESNET50_NAMES)])
def test_resnet_layers_are_named_as_torchvisions_modules(name, expected):
    report = convcalc.analyze(convcalc.load(library.path(name)))
    assert [layer.name for layer in report.layers] == expected


def test_se_resnet50_matches_resnet50_by_name():
    plain = convcalc.analyze(convcalc.load(library.path("resnet50")))
    se = convcalc.analyze(convcalc.load(library.path("se_resnet50")))
    extra = [layer.name for layer in se.layers if ".se." in layer.name]
    assert [layer.name for layer in se.layers if ".se." not in layer.name] == [layer.name for layer in plain.layers]
    assert len(extra) == 16 * 6  # gap, fc1, relu, fc2, sigmoid, mul in each of 16 bottlenecks


# operators that are no module, named in their module's scope, and a module's second and third calls
FUNCTIONAL = {"add", "flatten", "relu", "relu_1", "relu_2", "adaptive_avg_pool2d", "avg_pool2d", "max_pool2d", "cat",
              "cat_1", "cat_2", "mul", "chunk.0", "chunk.1", "channel_shuffle", "mean_gap", "mean"}
BUILDERS = [("resnet50", "resnet50", {}, ()), ("resnet18", "resnet18", {}, ()), ("resnext50_32x4d", "resnext50_32x4d", {}, ()),
            ("mobilenet_v2", "mobilenet_v2", {}, ()), ("alexnet", "alexnet", {}, ()), ("vgg16", "vgg16", {}, ()),
            ("squeezenet1_0", "squeezenet1_0", {}, ()), ("densenet121", "densenet121", {}, ()),
            ("googlenet", "googlenet", {"aux_logits": False, "init_weights": False}, ()),
            ("inception_v3", "inception_v3", {"aux_logits": False, "init_weights": False}, ()),
            ("shufflenet_v2_x1_0", "shufflenet_v2_x1_0", {}, ()),
            # a channels-first spec needs no Permute (block.1, block.6); stochastic depth is the identity in eval
            ("convnext_tiny", "convnext_tiny", {}, ("block.1", "block.6", "stochastic_depth")),
            ("mobilenetv3", "mobilenet_v3_large", {}, ()), ("mobilenet_v3_small", "mobilenet_v3_small", {}, ()),
            ("r3d_18", "video.r3d_18", {}, ())]


@pytest.mark.parametrize("name, builder, kwargs, absent", BUILDERS, ids=[b[0] for b in BUILDERS])
def test_module_names_are_torchvisions_when_it_is_installed(name, builder, kwargs, absent):
    models = pytest.importorskip("torchvision.models")
    for part in builder.split(".")[:-1]:
        models = getattr(models, part)
    model = getattr(models, builder.rsplit(".", 1)[-1])(**kwargs)
    modules = {path for path, module in model.named_modules() if not list(module.children())}
    report = convcalc.analyze(convcalc.load(library.path(name)))
    ours = {layer.name for layer in report.layers}
    # every module of torchvision is a layer here (but those a spec has no need of, said above);
    # ours beyond them are the functional ops and the second and third calls of a module
    assert {m for m in modules - ours if not any(m.endswith("." + a) for a in absent)} == set()
    assert {n for n in ours - modules if not any(n == op or n.endswith("." + op) for op in FUNCTIONAL)} == set()


def test_fixed_specs_are_settings_of_their_parametric_spec():
    # one definition: the same layers, names and counts as the parametric spec at those args
    for fixed, parametric, sets in (("resnet50", "resnet", ()), ("resnet18", "resnet", (("depth", 18),)),
                                    ("mobilenet_v2", "mobilenetv2", ()), ("efficientnet_b0", "efficientnet", ())):
        a = convcalc.analyze(convcalc.load(library.path(fixed)))
        b = convcalc.analyze(convcalc.load(library.path(parametric), overrides=Overrides(None, sets)))
        assert [(x.name, x.params, x.macs) for x in a.layers] == [(x.name, x.params, x.macs) for x in b.layers]
        assert a.total == b.total and a.name == fixed and a.args == {}


def _mobilenet_v2_names() -> list[str]:
    """torchvision/models/mobilenetv2.py: features.0 = Conv2dNormActivation (0 conv, 1 bn, 2
    relu6); features.1 (t = 1) = InvertedResidual whose conv is [Conv2dNormActivation dw, pw conv,
    bn]; features.2..17 (t = 6): [Conv2dNormActivation pw, Conv2dNormActivation dw, pw conv, bn],
    `x + self.conv(x)` (the importer's `add`) when stride 1 and in == out; features.18 the 1x1 to
    1280; then F.adaptive_avg_pool2d, torch.flatten, classifier = [Dropout, Linear]."""
    names = ["features.0.0", "features.0.1", "features.0.2",
             "features.1.conv.0.0", "features.1.conv.0.1", "features.1.conv.0.2", "features.1.conv.1", "features.1.conv.2"]
    index, cin = 2, 16
    for c, n, s in ((24, 2, 2), (32, 3, 2), (64, 4, 2), (96, 3, 1), (160, 3, 2), (320, 1, 1)):
        for i in range(n):
            block = f"features.{index}"
            names += [f"{block}.conv.{part}" for part in ("0.0", "0.1", "0.2", "1.0", "1.1", "1.2", "2", "3")]
            if (s if i == 0 else 1) == 1 and (cin if i == 0 else c) == c:
                names.append(f"{block}.add")
            index, cin = index + 1, c
    return names + ["features.18.0", "features.18.1", "features.18.2", "adaptive_avg_pool2d", "flatten",
                    "classifier.0", "classifier.1"]


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenetv2"])
def test_mobilenet_v2_layers_are_named_as_torchvisions_modules(name):
    report = convcalc.analyze(convcalc.load(library.path(name)))
    assert [layer.name for layer in report.layers] == _mobilenet_v2_names()


def test_efficientnet_b0_layers_are_named_as_torchvisions_modules():
    # torchvision/models/efficientnet.py: features.0 the stem (Conv2dNormActivation); features.1-7
    # the stages of MBConv blocks, each `block` = [expansion if any, depthwise, SqueezeExcitation
    # (avgpool, fc1, activation, fc2, scale_activation), projection]; features.8 the 1x1 head;
    # avgpool; classifier = [Dropout, Linear]
    names = [layer.name for layer in convcalc.analyze(convcalc.load(library.path("efficientnet_b0"))).layers]
    assert names[:14] == ["features.0.0", "features.0.1", "features.0.2",
                          "features.1.0.block.0.0", "features.1.0.block.0.1", "features.1.0.block.0.2",
                          *[f"features.1.0.block.1.{part}" for part in ("avgpool", "fc1", "activation", "fc2",
                                                                         "scale_activation", "mul")],
                          "features.1.0.block.2.0", "features.1.0.block.2.1"]
    assert "features.2.1.block.3.1" in names and "features.2.1.add" in names and "features.2.0.add" not in names
    assert names[-7:] == ["features.8.0", "features.8.1", "features.8.2", "avgpool", "flatten", "classifier.0",
                          "classifier.1"]
    assert sorted({name.split(".")[1] for name in names if name.startswith("features.")}, key=int) == [
        str(i) for i in range(9)]


# -- the rest of the library's torchvision networks, each table written from its module in
# torchvision/models/ (what is no module: the operator's name in its module's scope, as convcalc
# import names it)

def _features(config: list) -> list[str]:
    """VGG's and AlexNet's `features`: one nn.Sequential, numbered across conv, ReLU and pools."""
    return [f"features.{i}" for i in range(len(config))]


# AlexNet: features = [conv, relu, pool, conv, relu, pool, (conv, relu) x 3, pool]; avgpool;
# torch.flatten; classifier = [Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear]
ALEXNET_NAMES = (_features(["c", "r", "p", "c", "r", "p", "c", "r", "c", "r", "c", "r", "p"])
                 + ["avgpool", "flatten"] + [f"classifier.{i}" for i in range(7)])
# VGG-16 (cfg D: 2, 2, 3, 3, 3 convs a stage): each conv with its ReLU, a max pool after each stage
VGG16_NAMES = (_features([x for n in (2, 2, 3, 3, 3) for x in ["c", "r"] * n + ["p"]])
               + ["avgpool", "flatten"] + [f"classifier.{i}" for i in range(7)])


def _fire(path: str) -> list[str]:
    """squeezenet.py's Fire: squeeze and expands with their activations, torch.cat of the expands."""
    return [f"{path}.{part}" for part in ("squeeze", "squeeze_activation", "expand1x1", "expand1x1_activation",
                                          "expand3x3", "expand3x3_activation", "cat")]


# SqueezeNet 1.0: features = [conv, relu, pool, fire x 3, pool, fire x 4, pool, fire]; classifier =
# [Dropout, final_conv, ReLU, AdaptiveAvgPool2d]; torch.flatten
SQUEEZENET_NAMES = (["features.0", "features.1", "features.2"] + [n for i in (3, 4, 5) for n in _fire(f"features.{i}")]
                    + ["features.6"] + [n for i in (7, 8, 9, 10) for n in _fire(f"features.{i}")] + ["features.11"]
                    + _fire("features.12") + [f"classifier.{i}" for i in range(4)] + ["flatten"])


def _densenet121_names() -> list[str]:
    """densenet.py: features = conv0, norm0, relu0, pool0, denseblockB (denselayer1..n: norm1, relu1,
    conv1, norm2, relu2, conv2, and here the concat of its new channels, `cat`), transitionB (norm,
    relu, conv, pool) between blocks, norm5; then F.relu, F.adaptive_avg_pool2d, torch.flatten,
    classifier."""
    names = ["features.conv0", "features.norm0", "features.relu0", "features.pool0"]
    for block, n in enumerate((6, 12, 24, 16), 1):
        names += [f"features.denseblock{block}.denselayer{i}.{part}" for i in range(1, n + 1)
                  for part in ("norm1", "relu1", "conv1", "norm2", "relu2", "conv2", "cat")]
        if block < 4:
            names += [f"features.transition{block}.{part}" for part in ("norm", "relu", "conv", "pool")]
    return names + ["features.norm5", "relu", "adaptive_avg_pool2d", "flatten", "classifier"]


def _basic(path: str) -> list[str]:
    """googlenet.py's and inception.py's BasicConv2d: conv, bn, then F.relu (`relu`)."""
    return [f"{path}.conv", f"{path}.bn", f"{path}.relu"]


def _googlenet_names() -> list[str]:
    """googlenet.py: conv1, maxpool1, conv2, conv3, maxpool2, inception3a-b, maxpool3, 4a-e, maxpool4,
    5a-b (Inception: branch1, branch2 = [BasicConv2d x 2], branch3 likewise, branch4 = [MaxPool2d,
    BasicConv2d], torch.cat), avgpool, torch.flatten, dropout, fc (no auxiliary heads in eval)."""
    def inception(m: str) -> list[str]:
        return (_basic(f"{m}.branch1") + _basic(f"{m}.branch2.0") + _basic(f"{m}.branch2.1") + _basic(f"{m}.branch3.0")
                + _basic(f"{m}.branch3.1") + [f"{m}.branch4.0"] + _basic(f"{m}.branch4.1") + [f"{m}.cat"])
    return (_basic("conv1") + ["maxpool1"] + _basic("conv2") + _basic("conv3") + ["maxpool2"]
            + inception("inception3a") + inception("inception3b") + ["maxpool3"]
            + [n for m in "abcde" for n in inception(f"inception4{m}")] + ["maxpool4"]
            + inception("inception5a") + inception("inception5b") + ["avgpool", "flatten", "dropout", "fc"])


def _inception_v3_names() -> list[str]:
    """inception.py's Inception3 in forward's order; each InceptionX calls its pool as a function
    (F.avg_pool2d, F.max_pool2d) and ends in torch.cat; InceptionE's two inner cats come first
    (`cat`, `cat_1`) and its outputs' last (`cat_2`)."""
    def a(m: str) -> list[str]:
        return (_basic(f"{m}.branch1x1") + _basic(f"{m}.branch5x5_1") + _basic(f"{m}.branch5x5_2")
                + [n for i in (1, 2, 3) for n in _basic(f"{m}.branch3x3dbl_{i}")] + [f"{m}.avg_pool2d"]
                + _basic(f"{m}.branch_pool") + [f"{m}.cat"])
    def b(m: str) -> list[str]:
        return (_basic(f"{m}.branch3x3") + [n for i in (1, 2, 3) for n in _basic(f"{m}.branch3x3dbl_{i}")]
                + [f"{m}.max_pool2d", f"{m}.cat"])
    def c(m: str) -> list[str]:
        return (_basic(f"{m}.branch1x1") + [n for i in (1, 2, 3) for n in _basic(f"{m}.branch7x7_{i}")]
                + [n for i in (1, 2, 3, 4, 5) for n in _basic(f"{m}.branch7x7dbl_{i}")] + [f"{m}.avg_pool2d"]
                + _basic(f"{m}.branch_pool") + [f"{m}.cat"])
    def d(m: str) -> list[str]:
        return ([n for i in (1, 2) for n in _basic(f"{m}.branch3x3_{i}")]
                + [n for i in (1, 2, 3, 4) for n in _basic(f"{m}.branch7x7x3_{i}")] + [f"{m}.max_pool2d", f"{m}.cat"])
    def e(m: str) -> list[str]:
        return (_basic(f"{m}.branch1x1") + _basic(f"{m}.branch3x3_1") + _basic(f"{m}.branch3x3_2a")
                + _basic(f"{m}.branch3x3_2b") + [f"{m}.cat"] + _basic(f"{m}.branch3x3dbl_1")
                + _basic(f"{m}.branch3x3dbl_2") + _basic(f"{m}.branch3x3dbl_3a") + _basic(f"{m}.branch3x3dbl_3b")
                + [f"{m}.cat_1", f"{m}.avg_pool2d"] + _basic(f"{m}.branch_pool") + [f"{m}.cat_2"])
    return (_basic("Conv2d_1a_3x3") + _basic("Conv2d_2a_3x3") + _basic("Conv2d_2b_3x3") + ["maxpool1"]
            + _basic("Conv2d_3b_1x1") + _basic("Conv2d_4a_3x3") + ["maxpool2"]
            + a("Mixed_5b") + a("Mixed_5c") + a("Mixed_5d") + b("Mixed_6a")
            + c("Mixed_6b") + c("Mixed_6c") + c("Mixed_6d") + c("Mixed_6e") + d("Mixed_7a") + e("Mixed_7b") + e("Mixed_7c")
            + ["avgpool", "dropout", "flatten", "fc"])


def _shufflenet_v2_names() -> list[str]:
    """shufflenetv2.py: conv1 = [conv, bn, relu], maxpool, stage2-4 of InvertedResidual (4, 8, 4):
    the first (stride 2) runs branch1 = [dw, bn, conv, bn, relu] and branch2 = [conv, bn, relu, dw,
    bn, conv, bn, relu] on its input, the others x.chunk(2, dim=1) and branch2 on the second half;
    torch.cat, channel_shuffle; conv5 = [conv, bn, relu], x.mean([2, 3]) (a pool, then flat), fc."""
    names = ["conv1.0", "conv1.1", "conv1.2", "maxpool"]
    for stage, n in zip((2, 3, 4), (4, 8, 4)):
        for i in range(n):
            unit = f"stage{stage}.{i}"
            names += ([f"{unit}.branch1.{k}" for k in range(5)] if i == 0 else [f"{unit}.chunk.0", f"{unit}.chunk.1"])
            names += [f"{unit}.branch2.{k}" for k in range(8)] + [f"{unit}.cat", f"{unit}.channel_shuffle"]
    return names + ["conv5.0", "conv5.1", "conv5.2", "mean_gap", "mean", "fc"]


def _convnext_tiny_names() -> list[str]:
    """convnext.py: features.0 the stem [conv, LayerNorm2d]; features.1/3/5/7 stages of CNBlocks
    (3, 3, 9, 3), each block = [dw conv, Permute, LayerNorm, Linear, GELU, Linear, Permute] (the
    Permutes, 1 and 6, and the stochastic depth are no layers here), `layer_scale * ...` (mul),
    `+= input` (add); features.2/4/6 = [LayerNorm2d, conv]; avgpool; classifier = [LayerNorm2d,
    Flatten, Linear]."""
    names = ["features.0.0", "features.0.1"]
    for index, n in zip((1, 3, 5, 7), (3, 3, 9, 3)):
        names += [f"features.{index}.{i}.{part}" for i in range(n)
                  for part in ("block.0", "block.2", "block.3", "block.4", "block.5", "mul", "add")]
        if index < 7:
            names += [f"features.{index + 1}.0", f"features.{index + 1}.1"]
    return names + ["avgpool", "classifier.0", "classifier.1", "classifier.2"]


def _mobilenet_v3_names(size: str) -> list[str]:
    """mobilenetv3.py: features.0 the stem [conv, bn, hardswish]; features.1..n InvertedResiduals,
    block = [expansion (when exp != in), depthwise, SqueezeExcitation (avgpool, fc1, activation,
    fc2, scale_activation, then `scale * input`) where the table says SE, projection [conv, bn]],
    `+= input` (add) when stride 1 and in == out; features.n+1 the 1x1 head; avgpool;
    torch.flatten; classifier = [Linear, Hardswish, Dropout, Linear]. Table rows: in, exp, out, SE, s."""
    table = {"large": [(16, 16, 16, 0, 1), (16, 64, 24, 0, 2), (24, 72, 24, 0, 1), (24, 72, 40, 1, 2), (40, 120, 40, 1, 1),
                       (40, 120, 40, 1, 1), (40, 240, 80, 0, 2), (80, 200, 80, 0, 1), (80, 184, 80, 0, 1),
                       (80, 184, 80, 0, 1), (80, 480, 112, 1, 1), (112, 672, 112, 1, 1), (112, 672, 160, 1, 2),
                       (160, 960, 160, 1, 1), (160, 960, 160, 1, 1)],
             "small": [(16, 16, 16, 1, 2), (16, 72, 24, 0, 2), (24, 88, 24, 0, 1), (24, 96, 40, 1, 2), (40, 240, 40, 1, 1),
                       (40, 240, 40, 1, 1), (40, 120, 48, 1, 1), (48, 144, 48, 1, 1), (48, 288, 96, 1, 2),
                       (96, 576, 96, 1, 1), (96, 576, 96, 1, 1)]}[size]
    names = ["features.0.0", "features.0.1", "features.0.2"]
    for index, (cin, exp, out, se, s) in enumerate(table, 1):
        block, k = f"features.{index}.block", 0
        if exp != cin:
            names += [f"{block}.0.0", f"{block}.0.1", f"{block}.0.2"]
            k += 1
        names += [f"{block}.{k}.0", f"{block}.{k}.1", f"{block}.{k}.2"]
        if se:
            k += 1
            names += [f"{block}.{k}.{part}" for part in ("avgpool", "fc1", "activation", "fc2", "scale_activation", "mul")]
        names += [f"{block}.{k + 1}.0", f"{block}.{k + 1}.1"] + ([f"features.{index}.add"] if s == 1 and cin == out else [])
    head = len(table) + 1
    return names + [f"features.{head}.{i}" for i in range(3)] + ["avgpool", "flatten"] + [f"classifier.{i}" for i in range(4)]


def _r3d_18_names() -> list[str]:
    """video/resnet.py: stem = BasicStem [conv, bn, relu]; layer1-4 of two BasicBlocks: conv1 = [conv,
    bn, relu], conv2 = [conv, bn], downsample = [conv, bn] (layer2-4's first), `out += residual`
    (add), relu; avgpool, torch.flatten, fc."""
    return (["stem.0", "stem.1", "stem.2"]
            + [f"layer{stage}.{i}.{part}" for stage in (1, 2, 3, 4) for i in range(2)
               for part in ("conv1.0", "conv1.1", "conv1.2", "conv2.0", "conv2.1")
               + (("downsample.0", "downsample.1") if i == 0 and stage > 1 else ()) + ("add", "relu")]
            + ["avgpool", "flatten", "fc"])


TORCHVISION_NAMES = [("alexnet", ALEXNET_NAMES), ("vgg16", VGG16_NAMES), ("squeezenet1_0", SQUEEZENET_NAMES),
                     ("densenet121", _densenet121_names()), ("googlenet", _googlenet_names()),
                     ("inception_v3", _inception_v3_names()), ("shufflenet_v2_x1_0", _shufflenet_v2_names()),
                     ("convnext_tiny", _convnext_tiny_names()), ("mobilenetv3", _mobilenet_v3_names("large")),
                     ("mobilenet_v3_small", _mobilenet_v3_names("small")), ("r3d_18", _r3d_18_names())]


@pytest.mark.parametrize("name, expected", TORCHVISION_NAMES, ids=[n for n, _ in TORCHVISION_NAMES])
def test_layers_are_named_as_torchvisions_modules(name, expected):
    report = convcalc.analyze(convcalc.load(library.path(name)))
    assert [layer.name for layer in report.layers] == expected


def test_mobilenet_v3_small_is_mobilenetv3_at_size_small():
    small = convcalc.analyze(convcalc.load(library.path("mobilenet_v3_small")))
    parametric = convcalc.analyze(convcalc.load(library.path("mobilenetv3"), overrides=Overrides(None, (("size", "small"),))))
    assert [(x.name, x.kind, x.params, x.macs, x.output) for x in small.layers] == [
        (x.name, x.kind, x.params, x.macs, x.output) for x in parametric.layers]
    assert small.name == parametric.name == "mobilenet_v3_small" and small.args == {}
