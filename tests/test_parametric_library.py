"""The parametric library specs (efficientnet, resnet, mobilenetv2, mobilenetv3) against PyTorch:
each setting's parameters and MACs equal those of the same network written here in plain
PyTorch, after torchvision's model code (its builders, make_divisible and depth rules), counted
with `parameters()` and FlopCounterMode on the meta device; and the numbers torchvision publishes
for its models hold (params exact, MACs at the published precision).

torchvision itself is not imported: the reference networks below are written from its
definitions, so that a test does not depend on its install.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import convcalc
from convcalc.spec import Overrides

ROOT = Path(__file__).resolve().parent.parent


def analyze(name: str, shape: tuple[int, ...] | None = None, **sets) -> convcalc.Report:
    spec = convcalc.load(ROOT / "specs" / f"{name}.yaml", overrides=Overrides(shape, tuple(sets.items())))
    return convcalc.analyze(spec)


# -- what torchvision publishes (its model docs: num_params and GFLOPS, which are MACs) ----------

# EfficientNet: the paper's width / depth / resolution; torchvision measures B2's GFLOPS at its
# 288 crop, the others at the paper's resolution.
EFFICIENTNET = [  # name, width, depth, resolution, params, resolution of the published GFLOPS, GFLOPS
    ("b0", 1.0, 1.0, 224, 5_288_548, 224, "0.39"),
    ("b1", 1.0, 1.1, 240, 7_794_184, 240, "0.69"),
    ("b2", 1.1, 1.2, 260, 9_109_994, 288, "1.09"),
    ("b3", 1.2, 1.4, 300, 12_233_232, 300, "1.83"),
    ("b4", 1.4, 1.8, 380, 19_341_616, 380, "4.39"),
    ("b5", 1.6, 2.2, 456, 30_389_784, 456, "10.27"),
    ("b6", 1.8, 2.6, 528, 43_040_704, 528, "19.07"),
    ("b7", 2.0, 3.1, 600, 66_347_960, 600, "37.75"),
]

RESNET = [  # torchvision name, depth, groups, width per group, params, GFLOPS at 224
    ("resnet18", 18, 1, 64, 11_689_512, "1.81"),
    ("resnet34", 34, 1, 64, 21_797_672, "3.66"),
    ("resnet50", 50, 1, 64, 25_557_032, "4.09"),
    ("resnet101", 101, 1, 64, 44_549_160, "7.80"),
    ("resnet152", 152, 1, 64, 60_192_808, "11.51"),
    ("wide_resnet50_2", 50, 1, 128, 68_883_240, "11.40"),
    ("wide_resnet101_2", 101, 1, 128, 126_886_696, "22.75"),
    ("resnext50_32x4d", 50, 32, 4, 25_028_904, "4.23"),
    ("resnext101_32x8d", 101, 32, 8, 88_791_336, "16.41"),
]


def gflops(macs: int, published: str) -> str:
    return f"{macs / 1e9:.{len(published.split('.')[1])}f}"


@pytest.mark.parametrize("name, width, depth, res, params, ops_res, ops", EFFICIENTNET, ids=[e[0] for e in EFFICIENTNET])
def test_efficientnet_has_torchvisions_published_numbers(name, width, depth, res, params, ops_res, ops):
    report = analyze("efficientnet", (3, res, res), width=width, depth=depth)
    assert report.total.params == params
    assert report.output == (1, 1000)
    at = report if ops_res == res else analyze("efficientnet", (3, ops_res, ops_res), width=width, depth=depth)
    assert gflops(at.total.macs, ops) == ops


@pytest.mark.parametrize("name, depth, groups, width, params, ops", RESNET, ids=[r[0] for r in RESNET])
def test_resnet_family_has_torchvisions_published_numbers(name, depth, groups, width, params, ops):
    report = analyze("resnet", depth=depth, groups=groups, width=width)
    assert report.total.params == params
    assert gflops(report.total.macs, ops) == ops
    assert report.name == f"resnet{depth}"


@pytest.mark.parametrize("size, params, ops", [("large", 5_483_032, "0.22"), ("small", 2_542_856, "0.06")])
def test_mobilenetv3_has_torchvisions_published_numbers(size, params, ops):
    report = analyze("mobilenetv3", size=size)
    assert (report.name, report.total.params) == (f"mobilenet_v3_{size}", params)
    assert gflops(report.total.macs, ops) == ops


def test_the_defaults_are_the_fixed_specs():
    # efficientnet's defaults are B0 and resnet's ResNet-50: the same totals as the fixed specs
    for parametric, fixed in (("efficientnet", "efficientnet_b0"), ("resnet", "resnet50"),
                              ("mobilenetv2", "mobilenet_v2"), ("mobilenetv3", None)):
        report = analyze(parametric)
        if fixed is not None:
            assert report.total == analyze(fixed).total, parametric
    small = analyze("mobilenetv3", size="small")
    assert small.total == analyze("mobilenet_v3_small").total


# -- the rounding rules, as arithmetic ------------------------------------------------------------


def test_efficientnet_depth_is_ceil_of_n_times_depth():
    # B3 (depth 1.4): Table 1's layers 1, 2, 2, 3, 3, 4, 1 become ceil(n * 1.4) = 2, 3, 3, 5, 5, 6, 2
    report = analyze("efficientnet", (3, 300, 300), width=1.2, depth=1.4)
    dw = [layer.name for layer in report.layers if layer.kind == "dwconv"]  # one depthwise conv per MBConv
    per_stage = [sum(1 for name in dw if name.startswith(f"features.{i}.")) for i in range(1, 8)]
    assert per_stage == [2, 3, 3, 5, 5, 6, 2] == [math.ceil(n * 1.4) for n in (1, 2, 2, 3, 3, 4, 1)]
    # 3 * 1.4 is 4.199999999999999 in floats, 4 * 1.4 is 5.6: the ceilings above, as torchvision gets them


def test_efficientnet_channels_are_make_divisible_of_c_times_width():
    report = analyze("efficientnet", (3, 600, 600), width=2.0, depth=3.1)  # B7
    assert report.layer("features.0.0").output[1] == 64  # 32 * 2.0
    # B4 (width 1.4): 24 * 1.4 = 33.6 -> int(37.6) // 8 * 8 = 32; 112 * 1.4 = 156.8 -> 160
    b4 = analyze("efficientnet", (3, 380, 380), width=1.4, depth=1.8)
    assert b4.layer("features.2.0.block.3.0").output[1] == 32  # the projection
    assert b4.layer("features.5.0.block.3.0").output[1] == 160
    assert b4.layer("features.8.0").params == (4 * 448) * 448  # 320 * 1.4 = 448, the head 4x that, 1x1, no bias


def test_wide_resnet_and_resnext_bottlenecks():
    # Wide ResNet-50-2: the inner width is planes * 128 / 64 = 2 planes; layer1's first 1x1: 64 -> 128
    wide = analyze("resnet", depth=50, width=128)
    assert wide.layer("layer1.0.conv1").params == 64 * 128
    assert wide.layer("layer1.0.conv2").params == 128 * 128 * 3 * 3
    # ResNeXt-50 32x4d: inner width 64 * 4 / 64 * 32 = 128 in 32 groups of 4
    resnext = analyze("resnet", depth=50, groups=32, width=4)
    assert resnext.layer("layer1.0.conv2").params == 128 * (128 // 32) * 3 * 3


def test_basic_blocks_take_no_groups_or_width():
    with pytest.raises(convcalc.SpecError, match=r"no block template named 'basic_32x4' \(did you mean 'basic_1x64'\?\)"):
        analyze("resnet", depth=18, groups=32, width=4)


@pytest.mark.parametrize("name, setting, message", [
    ("resnet", "depth=77", "--set depth=77: depth is one of 18, 34, 50, 101, 152"),
    ("resnet", "depth=fifty", "--set depth=fifty: depth is one of 18, 34, 50, 101, 152"),
    ("mobilenetv3", "size=huge", "--set size=huge: size is one of large, small"),
    ("mobilenetv3", "size=smal", "--set size=smal: size is one of large, small (did you mean 'small'?)"),
])
def test_a_value_outside_the_declared_choices_lists_them(name, setting, message):
    # The spec declares its choices (`depth: {default: 50, choices: [...]}`); the error names them,
    # never the block template a value would have picked (`resnet77`).
    from click.testing import CliRunner

    from convcalc.cli import cli

    result = CliRunner().invoke(cli, ["shapes", name, "--set", setting])
    line = next(n for n, text in enumerate((ROOT / "specs" / f"{name}.yaml").read_text().splitlines(), 1)
                if text.startswith("args:"))
    assert (result.exit_code, result.output) == (2, f"convcalc: library:{name}:{line}: {message}\n")


def test_mobilenetv2_keeps_its_1280_head_when_thinner():
    assert analyze("mobilenetv2", width=0.5).layer("features.18.0").output[1] == 1280
    assert analyze("mobilenetv2", width=1.4).layer("features.18.0").output[1] == 1792  # 1280 * 1.4


def test_mobilenetv3_small_at_half_width_gains_a_shortcut():
    # bneck 7 goes from 40 to 48 channels at stride 1: no shortcut at width 1.0, but at 0.5 both
    # are make_divisible(20, 8) = make_divisible(24, 8) = 24 and torchvision adds the input
    full, half = analyze("mobilenetv3", size="small"), analyze("mobilenetv3", size="small", width=0.5)
    assert not any(layer.name == "features.7.add" for layer in full.layers)
    assert half.layer("features.7.add").kind == "add"


# -- the same networks in plain PyTorch ----------------------------------------------------------


def make_divisible(v: float, d: int = 8) -> int:
    """torchvision's _make_divisible, from its definition."""
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def references(torch):
    nn = torch.nn

    def conv_bn(cin, cout, k=1, s=1, groups=1, act=None):
        layers = [nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        return layers + ([act()] if act else [])

    class SE(nn.Module):
        def __init__(self, c, squeeze, act, gate):
            super().__init__()
            self.fc1, self.fc2, self.act, self.gate = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1), act(), gate()

        def forward(self, x):
            return x * self.gate(self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True)))))

    class Unit(nn.Module):
        def __init__(self, layers, add, shortcut=()):
            super().__init__()
            self.body, self.add, self.shortcut = nn.Sequential(*layers), add, nn.Sequential(*shortcut)

        def forward(self, x):
            return self.body(x) + self.shortcut(x) if self.add else self.body(x)

    def head(c, classes=1000):
        return [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(c, classes)]

    def efficientnet(width, depth):
        rows = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
                (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]
        c = lambda n: make_divisible(n * width)  # noqa: E731
        layers = conv_bn(3, c(32), 3, 2, act=nn.SiLU)
        for t, k, s, cin, cout, n in rows:
            for i in range(int(math.ceil(n * depth))):
                inp, stride = (c(cin), s) if i == 0 else (c(cout), 1)
                hidden = make_divisible(inp * t)
                body = conv_bn(inp, hidden, act=nn.SiLU) if hidden != inp else []
                body += conv_bn(hidden, hidden, k, stride, groups=hidden, act=nn.SiLU)
                body += [SE(hidden, max(1, inp // 4), nn.SiLU, nn.Sigmoid)] + conv_bn(hidden, c(cout))
                layers.append(Unit(body, stride == 1 and inp == c(cout)))
        layers += conv_bn(c(320), 4 * c(320), act=nn.SiLU)
        return nn.Sequential(*layers, *head(4 * c(320)))

    def resnet(depth, groups, width):
        blocks = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}[depth]
        bottleneck = depth >= 50
        layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
        inp = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), blocks)):
            out = planes * 4 if bottleneck else planes
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                if bottleneck:
                    inner = int(planes * (width / 64.0)) * groups
                    body = (conv_bn(inp, inner, act=nn.ReLU) + conv_bn(inner, inner, 3, stride, groups, nn.ReLU)
                            + conv_bn(inner, out))
                else:
                    body = conv_bn(inp, planes, 3, stride, act=nn.ReLU) + conv_bn(planes, planes, 3)
                shortcut = conv_bn(inp, out, 1, stride) if stride != 1 or inp != out else []
                layers += [Unit(body, True, shortcut), nn.ReLU()]
                inp = out
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(inp, 1000))

    def mobilenet_v2(width):
        rows = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1)]
        inp, last = make_divisible(32 * width), make_divisible(1280 * max(1.0, width))
        layers = conv_bn(3, inp, 3, 2, act=nn.ReLU6)
        for t, c, n, s in rows:
            out = make_divisible(c * width)
            for i in range(n):
                stride, hidden = (s if i == 0 else 1), int(round(inp * t))
                body = conv_bn(inp, hidden, act=nn.ReLU6) if t != 1 else []
                body += conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6) + conv_bn(hidden, out)
                layers.append(Unit(body, stride == 1 and inp == out))
                inp = out
        return nn.Sequential(*layers, *conv_bn(inp, last, act=nn.ReLU6), *head(last))

    def mobilenet_v3(size, width):
        large = [(16, 3, 16, 16, 0, "RE", 1), (16, 3, 64, 24, 0, "RE", 2), (24, 3, 72, 24, 0, "RE", 1),
                 (24, 5, 72, 40, 1, "RE", 2), (40, 5, 120, 40, 1, "RE", 1), (40, 5, 120, 40, 1, "RE", 1),
                 (40, 3, 240, 80, 0, "HS", 2), (80, 3, 200, 80, 0, "HS", 1), (80, 3, 184, 80, 0, "HS", 1),
                 (80, 3, 184, 80, 0, "HS", 1), (80, 3, 480, 112, 1, "HS", 1), (112, 3, 672, 112, 1, "HS", 1),
                 (112, 5, 672, 160, 1, "HS", 2), (160, 5, 960, 160, 1, "HS", 1), (160, 5, 960, 160, 1, "HS", 1)]
        small = [(16, 3, 16, 16, 1, "RE", 2), (16, 3, 72, 24, 0, "RE", 2), (24, 3, 88, 24, 0, "RE", 1),
                 (24, 5, 96, 40, 1, "HS", 2), (40, 5, 240, 40, 1, "HS", 1), (40, 5, 240, 40, 1, "HS", 1),
                 (40, 5, 120, 48, 1, "HS", 1), (48, 5, 144, 48, 1, "HS", 1), (48, 5, 288, 96, 1, "HS", 2),
                 (96, 5, 576, 96, 1, "HS", 1), (96, 5, 576, 96, 1, "HS", 1)]
        table, last = (large, 1280) if size == "large" else (small, 1024)
        c = lambda n: make_divisible(n * width)  # noqa: E731
        layers = conv_bn(3, c(16), 3, 2, act=nn.Hardswish)
        for cin, k, exp, cout, se, act_name, s in table:
            act = nn.ReLU if act_name == "RE" else nn.Hardswish
            inp, hidden, out = c(cin), c(exp), c(cout)
            body = conv_bn(inp, hidden, act=act) if hidden != inp else []
            body += conv_bn(hidden, hidden, k, s, groups=hidden, act=act)
            body += [SE(hidden, make_divisible(hidden // 4), nn.ReLU, nn.Hardsigmoid)] if se else []
            layers.append(Unit(body + conv_bn(hidden, out), s == 1 and inp == out))
        lastconv = 6 * c(table[-1][3])
        layers += conv_bn(c(table[-1][3]), lastconv, act=nn.Hardswish)
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(lastconv, c(last)),
                             nn.Hardswish(), nn.Dropout(0.2), nn.Linear(c(last), 1000))

    return {"efficientnet": efficientnet, "resnet": resnet, "mobilenetv2": mobilenet_v2, "mobilenetv3": mobilenet_v3}


def torch_counts(torch, model, shape):
    """Parameters, and MACs as FlopCounterMode's conv and matmul FLOPs / 2, on the meta device."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with FlopCounterMode(display=False) as counter:
        output = model(torch.empty(1, *shape, device="meta"))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2, tuple(output.shape)


CASES = [  # spec, input, --set values, the reference's arguments
    *[("efficientnet", (3, res, res), {"width": w, "depth": d}, (w, d)) for _, w, d, res, *_ in EFFICIENTNET],
    ("efficientnet", (3, 224, 224), {"width": 0.5, "depth": 0.5}, (0.5, 0.5)),  # thinner and shallower than B0
    *[("resnet", (3, 224, 224), {"depth": d, "groups": g, "width": w}, (d, g, w)) for _, d, g, w, *_ in RESNET],
    ("resnet", (3, 512, 512), {"depth": 50}, (50, 1, 64)),
    *[("mobilenetv2", (3, 224, 224), {"width": w}, (w,)) for w in (0.35, 0.5, 0.75, 1.0, 1.4)],
    ("mobilenetv2", (3, 160, 160), {"width": 0.75}, (0.75,)),
    *[("mobilenetv3", (3, 224, 224), {"size": s, "width": w}, (s, w)) for s in ("large", "small")
      for w in (0.5, 0.75, 1.0, 1.25)],
]


@pytest.mark.parametrize("name, shape, sets, arguments", CASES,
                         ids=[f"{c[0]}-{'-'.join(map(str, c[3]))}-{c[1][1]}" for c in CASES])
def test_equals_the_same_network_in_pytorch(torch, name, shape, sets, arguments):
    with torch.device("meta"):
        model = references(torch)[name](*arguments)
    params, macs, output = torch_counts(torch, model, shape)
    report = analyze(name, shape, **sets)
    assert (report.total.params, report.total.macs, report.output) == (params, macs, output)
