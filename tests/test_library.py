"""The spec library reproduces the published numbers, every spec verifies against PyTorch, and
README's library table is what scripts/library_table.py generates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import convcalc

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
