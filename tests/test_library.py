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


def test_unet_output_is_388x388_with_two_classes():
    assert convcalc.analyze(convcalc.load(ROOT / "specs" / "unet.yaml")).output == (1, 2, 388, 388)


def test_the_designed_specs_exist_and_every_spec_names_its_paper():
    names = {p.stem for p in SPECS}
    assert {p[0] for p in PUBLISHED} | {"tcn", "shiftnet", "textcnn"} <= names
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
