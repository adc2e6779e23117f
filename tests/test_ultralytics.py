"""ultralytics' model YAML read natively (convcalc/importers/ultralytics.py).

Truth: ultralytics does not install beside this machine's torch (it needs torchvision), so the
full-size YOLOv8 layout (tests/assets/yolo/yolov8.yaml, typed from the format) is pinned to the
figures ultralytics publishes for it, and the small YAMLs of every mapped module are checked
against a PyTorch build written here from the modules' documented behaviour (Conv = conv, BN,
SiLU; C2f = cv1, chunk, bottlenecks on the last chunk, cat, cv2; ...), independently of the
front end's code. Bad input is in tests/assets/bad/ (yolo_*.yaml, yolov8x_no_row.yaml).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc import analyze
from convcalc.cli import cli
from convcalc.sources import load_argument
from convcalc.spec import Overrides

ROOT = Path(__file__).resolve().parent.parent
YOLO = ROOT / "tests" / "assets" / "yolo"


def report(name: str, **sets):
    spec = load_argument(str(YOLO / name), Overrides(sets=tuple(sets.items())))
    return analyze(spec)


# ultralytics' published YOLOv8 detect figures at 640: params, and GFLOPs as it prints them
# (2 x thop's MACs, one decimal). Every scale, so the width, depth and max_channels rules all show.
PUBLISHED = [("n", 3_157_200, 8.7), ("s", 11_166_560, 28.6), ("m", 25_902_640, 78.9), ("l", 43_691_520, 165.2),
             ("x", 68_229_648, 257.8)]


@pytest.mark.parametrize(("scale", "params", "gflops"), PUBLISHED, ids=[row[0] for row in PUBLISHED])
def test_yolov8_matches_the_published_params_and_gflops(scale, params, gflops):
    r = report(f"yolov8{scale}.yaml")  # only yolov8.yaml exists: the name's letter picks the row
    assert r.total.params == params
    # ultralytics' GFLOPs are thop's count doubled: every conv's multiply-accumulates, plus one add
    # per output of a conv with a bias (only the head's last 1x1 convs: 4·16 box and 80 class
    # channels at each of the 80² + 40² + 20² anchors); BN, SiLU, pools and upsampling count 0
    bias_outputs = (4 * 16 + 80) * (80 ** 2 + 40 ** 2 + 20 ** 2)
    assert round(2 * (r.total.macs + bias_outputs) / 1e9, 1) == gflops


# ultralytics' published YOLO11 detect figures at 640, the line model.info() prints for the model
# as built (BN not fused): params, and GFLOPs by thop before ultralytics PR #25545
PUBLISHED_11 = [("n", 2_624_080, 6.6), ("s", 9_458_752, 21.7)]


def thop_terms(r):
    """What thop (ultralytics' GFLOPs) charges, from convcalc's layers: every conv's
    multiply-accumulates (the DFL's does not run in the training-mode forward model.info()
    profiles), 4 per BN element (thop's normalization rule: 2 per element, twice for an affine
    one), and the attention matmuls, which thop's module hooks never see."""
    convs = sum(row.macs for row in r.layers if row.kind == "conv" and ".dfl." not in row.name)
    bn = sum(math.prod(row.output) for row in r.layers if row.kind == "bn")
    matmuls = sum(row.macs for row in r.layers if row.kind == "matmul")
    return convs, bn, matmuls


@pytest.mark.parametrize(("scale", "params", "gflops"), PUBLISHED_11, ids=[row[0] for row in PUBLISHED_11])
def test_yolo11_matches_the_published_params_and_gflops(scale, params, gflops):
    r = report(f"yolo11{scale}.yaml")
    assert r.total.params == params
    convs, bn, matmuls = thop_terms(r)
    # C2PSA (layer 10) at stride 32: 20 x 20 = 400 tokens; c = int(c2 * 0.5) channels in c // 64
    # heads of 64, key_dim 32: qᵀk is 400² · 32 and v @ attnᵀ 400² · 64 per head
    c = {"n": 256, "s": 512}[scale] // 2
    assert matmuls == (c // 64) * 400 ** 2 * (32 + 64)
    scaled = [row for row in r.layers if row.kind == "scale"]  # the scores times 32^-0.5: one multiply each
    assert [row.args["by"] for row in scaled] == [32 ** -0.5]
    assert [row.flops for row in scaled] == [(c // 64) * 400 ** 2] and scaled[0].macs == 0
    # the published figure: thop before PR #25545, without the matmuls
    assert round(2 * (convs + 4 * bn) / 1e9, 1) == gflops
    # convcalc's MACs are everything but the DFL's 16 per side and anchor: the matmuls included
    assert r.total.macs == convs + matmuls + 16 * 4 * (80 ** 2 + 40 ** 2 + 20 ** 2)
    # after PR #25545 ultralytics adds tokens² · (key_dim + head_dim) per head: convcalc's matmuls
    after = 2 * (convs + 4 * bn + matmuls) / 1e9
    assert round(after, 1) == {"n": 6.7, "s": 21.8}[scale]


def test_yolo11_fused_table_figures():
    # the docs' table (the fused model: no BN) lists 6.5 and 21.5 GFLOPs
    for scale, gflops in (("n", 6.5), ("s", 21.5)):
        convs, _, _ = thop_terms(report(f"yolo11{scale}.yaml"))
        assert round(2 * convs / 1e9, 1) == gflops


def test_the_scale_letter_and_set_scale_agree():
    assert report("yolov8.yaml", scale="s").total == report("yolov8s.yaml").total
    assert report("yolov8.yaml").total == report("yolov8n.yaml").total  # no letter: the first row


def test_detect_outputs_the_anchors_of_every_level():
    spec = load_argument(str(YOLO / "yolov8n.yaml"), Overrides(input=(3, 640, 480)))
    heads = dict(analyze(spec).heads)
    anchors = (640 // 8) * (480 // 8) + (640 // 16) * (480 // 16) + (640 // 32) * (480 // 32)
    assert heads["boxes"].output == (1, 1, 4, anchors)  # DFL's expectation per side, before the decode
    assert heads["scores"].output == (1, 80, anchors)


def test_an_input_off_the_largest_stride_is_one_line():
    result = CliRunner().invoke(cli, ["shapes", str(YOLO / "yolov8n.yaml"), "--input", "3x640x650"])
    assert result.exit_code == 2
    assert "W 650 is not a multiple of the model's largest stride 32" in result.stderr
    assert "672" in result.stderr and result.stderr.count("\n") == 1


def test_set_takes_only_scale_and_nc():
    result = CliRunner().invoke(cli, ["shapes", str(YOLO / "yolov8n.yaml"), "--set", "depth=2"])
    assert result.exit_code == 2 and "no argument 'depth'" in result.stderr
    # the class branch per level x in (64, 128, 256): Conv(x, c3, 3), Conv(c3, c3, 3) (BN: 2 per
    # channel each) and a 1x1 conv to nc with bias; c3 = max(64, min(nc, 100)) is 80, and 64 at nc=1
    def branch(x, c3, nc):
        return 9 * x * c3 + 2 * c3 + 9 * c3 * c3 + 2 * c3 + c3 * nc + nc

    drop = sum(branch(x, 80, 80) - branch(x, 64, 1) for x in (64, 128, 256))
    assert report("yolov8n.yaml", nc=1).total.params == 3_157_200 - drop


def test_shapes_of_an_ultralytics_yaml_imports_no_torch():
    code = ("import sys; from convcalc.cli import cli; from click.testing import CliRunner; "
            f"r = CliRunner().invoke(cli, ['shapes', {str(YOLO / 'yolov8n.yaml')!r}]); "
            "assert r.exit_code == 0, r.output; assert 'torch' not in sys.modules and 'numpy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_python_api_reads_ultralytics_yaml_as_the_cli_does():
    import convcalc

    # convcalc.load: yolo11n.yaml read from yolo11.yaml beside it at scale n, as `convcalc shapes`
    assert convcalc.analyze(convcalc.load(YOLO / "yolo11n.yaml")).total.params == 2_624_080
    # YAML text: no file name, so the scale is set= (or the first row, n)
    text = (YOLO / "yolo11.yaml").read_text(encoding="utf-8")
    assert convcalc.analyze(text, set={"scale": "s"}).total.params == 9_458_752
    assert convcalc.loads(text).nodes == convcalc.load(YOLO / "yolo11n.yaml").nodes
    # a path given to analyze, with input=: Detect's anchors at 320 are (320/8)² + (320/16)² + (320/32)²
    heads = dict(convcalc.analyze(str(YOLO / "yolov8s.yaml"), input=(3, 320, 320)).heads)
    assert heads["scores"].output == (1, 80, 40 ** 2 + 20 ** 2 + 10 ** 2)


def test_a_bad_ultralytics_yaml_in_the_api_raises_the_located_error():
    import convcalc

    with pytest.raises(convcalc.SpecError) as caught:
        convcalc.load(ROOT / "tests" / "assets" / "bad" / "yolo_c2psa_heads.yaml")
    assert str(caught.value).endswith("yolo_c2psa_heads.yaml:5: layer 1 (C2PSA): the attention has 32 channels: "
                                      "ultralytics takes 32 // 64 = 0 heads (it needs 64 channels or more)")


# ---- an independent PyTorch build of the small YAMLs, from the modules' behaviour

torch = pytest.importorskip("torch")
nn = torch.nn


def ceil8(x):
    return math.ceil(x / 8) * 8


class Conv(nn.Sequential):
    def __init__(self, c1, c2, k=1, s=1, g=1):
        super().__init__(nn.Conv2d(c1, c2, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(c2), nn.SiLU())


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut, k=(3, 3), e=0.5):
        super().__init__()
        h = int(c2 * e)
        self.body = nn.Sequential(Conv(c1, h, k[0]), Conv(h, c2, k[1]))
        self.add = shortcut and c1 == c2

    def forward(self, x):
        return x + self.body(x) if self.add else self.body(x)


class C3(nn.Module):
    def __init__(self, c1, c2, n, shortcut=True, e=0.5, k=(1, 3)):
        super().__init__()
        h = int(c2 * e)
        self.cv1, self.cv2, self.cv3 = Conv(c1, h), Conv(c1, h), Conv(2 * h, c2)
        self.m = nn.Sequential(*(Bottleneck(h, h, shortcut, k, 1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C2f(nn.Module):
    def __init__(self, c1, c2, n, e, make):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1, self.cv2 = Conv(c1, 2 * self.c), Conv((2 + n) * self.c, c2)
        self.m = nn.ModuleList(make(self.c) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Pyramid(nn.Module):  # SPP ([k...], parallel) and SPPF (one k, chained three times)
    def __init__(self, c1, c2, ks, chained):
        super().__init__()
        h = c1 // 2
        self.cv1, self.cv2 = Conv(c1, h), Conv(h * (len(ks) + 1), c2)
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in ks)
        self.chained = chained

    def forward(self, x):
        ys = [self.cv1(x)]
        for pool in self.pools:
            ys.append(pool(ys[-1] if self.chained else ys[0]))
        return self.cv2(torch.cat(ys, 1))


class Detect(nn.Module):
    def __init__(self, nc, ch, depthwise):
        super().__init__()
        c2, c3 = max(16, ch[0] // 4, 64), max(ch[0], min(nc, 100))
        self.box = nn.ModuleList(nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 64, 1)) for x in ch)
        self.cls = nn.ModuleList(
            nn.Sequential(Conv(x, x, 3, g=x), Conv(x, c3), Conv(c3, c3, 3, g=c3), Conv(c3, c3), nn.Conv2d(c3, nc, 1))
            if depthwise else nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = nn.Conv2d(16, 1, 1, bias=False).requires_grad_(False)
        self.nc = nc

    def forward(self, xs):
        b = xs[0].shape[0]
        boxes = torch.cat([m(x).view(b, 64, -1) for m, x in zip(self.box, xs)], -1)
        scores = torch.cat([m(x).view(b, self.nc, -1) for m, x in zip(self.cls, xs)], -1)
        a = boxes.shape[-1]
        dist = self.dfl(boxes.view(b, 4, 16, a).transpose(2, 1).softmax(1)).view(b, 4, a)
        return dist, scores.sigmoid()


class Tiny11(nn.Module):
    """tests/assets/yolo/tiny11.yaml at scale n (depth 0.5, width 0.25, max 256): written out."""

    def __init__(self):
        super().__init__()
        w = [ceil8(min(c, 256) * 0.25) for c in (32, 64, 64, 128, 128, 256, 256, 128)]
        n = max(round(2 * 0.5), 1)  # 1
        self.l0, self.l1 = Conv(3, w[0], 3, 2), Conv(w[0], w[1], 3, 2)
        self.l2 = C2f(w[1], w[2], n, 0.25, lambda c: Bottleneck(c, c, True, (3, 3), 0.5))  # C3k2, c3k off
        self.l3, self.l4 = Conv(w[2], w[3], 3, 2), C3(w[3], w[4], n)
        self.l5, self.l6 = Conv(w[4], w[5], 3, 2), Pyramid(w[5], w[6], (3, 5), chained=False)
        self.up = nn.Upsample(scale_factor=2)
        self.l9 = Bottleneck(w[6] + w[4], w[7], False)  # repeats max(round(2 * 0.5), 1) = 1
        self.detect = Detect(3, (w[7], w[6]), depthwise=True)

    def forward(self, x):
        x4 = self.l4(self.l3(self.l2(self.l1(self.l0(x)))))
        x6 = self.l6(self.l5(x4))
        x9 = self.l9(torch.cat((self.up(x6), x4), 1))
        return self.detect([x9, x6])


class TinyCls(nn.Module):
    """tests/assets/yolo/tinycls.yaml (depth 0.5, width 0.5, no max): written out."""

    def __init__(self):
        super().__init__()
        c0, c1, c2 = ceil8(32 * 0.5), ceil8(64 * 0.5), ceil8(64 * 0.5)
        n = max(round(3 * 0.5), 1)  # 2
        self.body = nn.Sequential(Conv(3, c0, 3, 2), C2f(c0, c1, n, 0.5, lambda c: Bottleneck(c, c, True, (3, 3), 1.0)),
                                  Pyramid(c1, c2, (3, 3, 3), chained=True))
        self.head = nn.Sequential(Conv(c2, 1280), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, 10),
                                  nn.Softmax(1))

    def forward(self, x):
        return self.head(self.body(x))


class Attention(nn.Module):
    """ultralytics' Attention as its documentation describes it: one 1x1 conv (BN, no activation)
    makes each head's q, k (key_dim = half the head's channels) and v; scores qᵀk / √key_dim,
    softmax over the keys; v weighted by them, plus a depthwise 3x3 of v; a 1x1 projection."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.kd = self.hd // 2
        self.qkv = nn.Sequential(nn.Conv2d(dim, dim + 2 * self.kd * heads, 1, bias=False), nn.BatchNorm2d(dim + 2 * self.kd * heads))
        self.pe = nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1, groups=dim, bias=False), nn.BatchNorm2d(dim))
        self.proj = nn.Sequential(nn.Conv2d(dim, dim, 1, bias=False), nn.BatchNorm2d(dim))

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).view(b, self.heads, 2 * self.kd + self.hd, h * w).split([self.kd, self.kd, self.hd], 2)
        attn = (torch.matmul(q.transpose(2, 3), k) / math.sqrt(self.kd)).softmax(-1)
        y = torch.matmul(v, attn.transpose(2, 3)).reshape(b, c, h, w) + self.pe(v.reshape(b, c, h, w))
        return self.proj(y)


class PSA(nn.Module):  # C2PSA: half the channels through attention-then-FFN blocks with shortcuts
    def __init__(self, c1, n):
        super().__init__()
        self.c = c1 // 2
        self.cv1, self.cv2 = Conv(c1, 2 * self.c), Conv(2 * self.c, c1)
        self.attn = nn.ModuleList(Attention(self.c, self.c // 64) for _ in range(n))
        self.ffn = nn.ModuleList(nn.Sequential(Conv(self.c, 2 * self.c), nn.Conv2d(2 * self.c, self.c, 1, bias=False),
                                               nn.BatchNorm2d(self.c)) for _ in range(n))

    def forward(self, x):
        a, b = self.cv1(x).split(self.c, 1)
        for attn, ffn in zip(self.attn, self.ffn):
            b = b + attn(b)
            b = b + ffn(b)
        return self.cv2(torch.cat((a, b), 1))


class TinyPSA(nn.Module):
    """tests/assets/yolo/tinypsa.yaml (depth 0.5, width 1, max 256): written out."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(Conv(3, 32, 3, 2), Conv(32, 64, 3, 2), Conv(64, 256, 3, 2),
                                  PSA(256, max(round(2 * 0.5), 1)))
        self.down = Conv(256, 128, 3, 2)
        self.detect = Detect(2, (256, 128), depthwise=False)  # no C3k2: YOLOv8's class branch

    def forward(self, x):
        p = self.body(x)
        return self.detect([p, self.down(p)])


def torch_counts(model, shape):
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(1, *shape))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2, out


@pytest.mark.parametrize(("name", "model"), [("tiny11.yaml", Tiny11), ("tinycls.yaml", TinyCls),
                                           ("tinypsa.yaml", TinyPSA)])
@pytest.mark.parametrize("shape", [(3, 64, 64), (3, 64, 96)], ids=["64x64", "64x96"])
def test_small_yamls_match_an_independent_torch_build(name, model, shape):
    torch.manual_seed(0)
    params, macs, out = torch_counts(model(), shape)
    r = analyze(load_argument(str(YOLO / name), Overrides(input=shape)))
    assert r.total.params == params
    assert r.total.macs == macs  # FlopCounterMode: 2 per MAC of every conv, linear and DFL conv
    outputs = out if isinstance(out, tuple) else (out,)
    shapes = [row.output for _, row in r.heads] if r.heads else [r.output]
    assert [tuple(o.shape) for o in outputs] == [s if len(s) != 4 or s[1] != 1 else (s[0], s[2], s[3])
                                                for s in shapes]


@pytest.mark.slow
def test_verify_passes_on_the_small_yamls():
    for name in ("tiny11.yaml", "tinycls.yaml", "tinypsa.yaml"):
        result = CliRunner().invoke(cli, ["verify", str(YOLO / name), "--input", "3x64x64"])
        assert result.exit_code == 0, result.output

