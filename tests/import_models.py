"""Plain-PyTorch models for the import tests, written the way people write them: functional ops
(`torch.sigmoid`, `*`, `torch.cat`, `x + y`, `F.relu`, `.view`, `F.interpolate`), modules reused,
blocks in nn.Sequential. Each `build_*` takes no arguments, as a SOURCE `tests.import_models:build_se`
calls it, and INPUTS gives the input each is imported at."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class SqueezeExcite(nn.Module):
    """SE: global pool, two 1x1 convs, a sigmoid gate multiplied in (torch.sigmoid and *)."""

    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class SEBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.se = SqueezeExcite(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.se(self.bn(self.conv(x))) + x)


class SENet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.blocks = nn.Sequential(SEBlock(16), SEBlock(16), SEBlock(16))
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu(self.stem(x)))
        x = x.mean((2, 3))
        return self.head(x)


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """A small U-Net: torch.cat skips, ConvTranspose2d upsampling, max-pool downsampling."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.down1 = DoubleConv(1, c)
        self.down2 = DoubleConv(c, 2 * c)
        self.bottom = DoubleConv(2 * c, 4 * c)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2)
        self.dec2 = DoubleConv(4 * c, 2 * c)
        self.up1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.dec1 = DoubleConv(2 * c, c)
        self.out = nn.Conv2d(c, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.down1(x)
        d2 = self.down2(self.pool(d1))
        b = self.bottom(self.pool(d2))
        u2 = self.dec2(torch.cat([self.up2(b), d2], dim=1))
        u1 = self.dec1(torch.cat([self.up1(u2), d1], dim=1))
        return self.out(u1)


class DilatedBlock(nn.Module):
    def __init__(self, c: int, d: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c, c, 3, padding=d, dilation=d)
        self.norm = nn.BatchNorm1d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.relu(self.norm(self.conv(x)))


class DilatedNet1d(nn.Module):
    """A 1-D temporal net: dilations 1, 2, 4, 8 in residual blocks, then a pooled classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Conv1d(2, 16, 1)
        self.blocks = nn.Sequential(*[DilatedBlock(16, d) for d in (1, 2, 4, 8)])
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.inp(x))
        return self.fc(torch.flatten(self.pool(x), 1))


class SuperResolution(nn.Module):
    """ESPCN-style: convs, then a sub-pixel PixelShuffle by 3, plus a bilinear skip (F.interpolate)."""

    def __init__(self, r: int = 3) -> None:
        super().__init__()
        self.r = r
        self.conv1 = nn.Conv2d(3, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 16, 3, padding=1)
        self.conv3 = nn.Conv2d(16, 3 * r * r, 3, padding=1)
        self.shuffle = nn.PixelShuffle(r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.tanh(self.conv1(x))
        y = torch.tanh(self.conv2(y))
        y = self.shuffle(self.conv3(y))
        return y + F.interpolate(x, scale_factor=self.r, mode="bilinear", align_corners=False)


class Generator(nn.Module):
    """DCGAN's generator (Radford et al.): a 100-dim code [100, 1, 1] to a 3x64x64 image."""

    def __init__(self, nz: int = 100, ngf: int = 16) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


class BasicBlock(nn.Module):
    """ResNet's basic block as torchvision writes it: one ReLU module called twice, `out += identity`."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class SmallResNet(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (16, 32, 64), blocks: int = 3, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        cin = widths[0]
        for i, w in enumerate(widths):
            stage = [BasicBlock(cin, w, 1 if i == 0 else 2)] + [BasicBlock(w, w) for _ in range(blocks - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


class ChannelsLastNorm(nn.LayerNorm):
    """torchvision's LayerNorm2d: a LayerNorm subclass with its own forward (traced through)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block as torchvision writes it: a depthwise 7x7, then channels-last LayerNorm,
    Linear, GELU, Linear, back to channels first, a [C, 1, 1] layer scale and the residual add."""

    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim, 1, 1), 1e-6))

    def forward(self, x):
        y = self.dwconv(x)
        y = torch.permute(y, [0, 2, 3, 1])
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y.contiguous()))))
        y = torch.permute(y, [0, 3, 1, 2])
        return x + self.gamma * y


class ConvNeXtNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 4, stride=4), ChannelsLastNorm(16, eps=1e-6))
        self.stage1 = nn.Sequential(ConvNeXtBlock(16), ConvNeXtBlock(16))
        self.down = nn.Sequential(ChannelsLastNorm(16, eps=1e-6), nn.Conv2d(16, 32, 2, stride=2))
        self.stage2 = ConvNeXtBlock(32)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), ChannelsLastNorm(32, eps=1e-6), nn.Flatten(1),
                                  nn.Linear(32, 10))

    def forward(self, x):
        return self.head(self.stage2(self.down(self.stage1(self.stem(x)))))


class Conv3dNoBias(nn.Conv3d):
    """torchvision's Conv3DSimple: an nn.Conv3d subclass that adds a helper, not a forward (a leaf)."""

    def __init__(self, cin, cout, stride=1):
        super().__init__(cin, cout, (3, 3, 3), stride=stride, padding=1, bias=False)

    @staticmethod
    def downsample_stride(stride):
        return stride, stride, stride


class VideoNet(nn.Module):
    """A 3-D video classifier with an auxiliary head its forward runs only in training (as
    GoogLeNet's and Inception v3's): PyTorch counts the head's parameters, the traced network does not."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(Conv3dNoBias(3, 8), nn.BatchNorm3d(8), nn.ReLU(inplace=True))
        self.block = nn.Sequential(Conv3dNoBias(8, 16, stride=2), nn.BatchNorm3d(16), nn.ReLU(inplace=True))
        self.aux = nn.Sequential(nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(8, 5))
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.stem(x)
        aux = self.aux(x) if self.training else None
        y = self.fc(self.pool(self.block(x)).flatten(1))
        return (y, aux) if self.training else y


class ShuffleUnit(nn.Module):
    """ShuffleNet v2's unit as torchvision writes it: half the channels pass, half go through a
    1x1, depthwise 3x3, 1x1 branch; concatenated, then shuffled by view, transpose, view."""

    def __init__(self, channels):
        super().__init__()
        half = channels // 2
        self.branch = nn.Sequential(nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
                                    nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False), nn.BatchNorm2d(half),
                                    nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))

    def forward(self, x):
        keep, work = x.chunk(2, dim=1)
        out = torch.cat((keep, self.branch(work)), dim=1)
        n, c, h, w = out.size()
        out = out.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous()
        return out.view(n, c, h, w)


class ShuffleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 24, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(24), nn.ReLU())
        self.units = nn.Sequential(ShuffleUnit(24), ShuffleUnit(24))
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        return self.fc(self.units(self.stem(x)).mean([2, 3]))


class BatchNormAct(nn.BatchNorm2d):
    """timm's BatchNormAct2d: batch norm and its activation in one module, through F.batch_norm."""

    def forward(self, x):
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return F.relu(x)


class SamePadConv(nn.Conv2d):
    """timm's Conv2dSame: TensorFlow's 'SAME' padding (more on the bottom and right), then F.conv2d."""

    def forward(self, x):
        # no max(.., 0): torch.fx cannot trace control flow on sizes (here it is >= 0); and the ceiling as
        # (h + s - 1) // s, not timm's -(-h // s): TorchScript exports that as a Div, which truncates
        h, w = x.shape[-2:]
        ph = ((h + self.stride[0] - 1) // self.stride[0] - 1) * self.stride[0] + self.kernel_size[0] - h
        pw = ((w + self.stride[1] - 1) // self.stride[1] - 1) * self.stride[1] + self.kernel_size[1] - w
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class PlainLinear(nn.Linear):
    """timm's Linear: an nn.Linear whose forward calls F.linear."""

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class FunctionalNet(nn.Module):
    """Layers written with torch.nn.functional inside subclassed modules, as timm writes them."""

    def __init__(self):
        super().__init__()
        self.conv1 = SamePadConv(3, 16, 3, stride=2, bias=False)
        self.bn1 = BatchNormAct(16)
        self.conv2 = SamePadConv(16, 16, 4, stride=2, groups=16)
        self.gamma = nn.Parameter(torch.full((16,), 0.5))
        self.fc = PlainLinear(16, 10)

    def forward(self, x):
        x = self.conv2(self.bn1(self.conv1(x)))
        x = x.mul(self.gamma.reshape(1, -1, 1, 1))
        return self.fc(x.mean((2, 3)))


class GhostModule(nn.Module):
    """GhostNet's module: a primary conv, a cheap depthwise conv of its output, both concatenated and
    cut to the wanted channels (`[:, :out]`, not an equal part)."""

    def __init__(self, cin, out):
        super().__init__()
        init = -(-out // 2)
        self.primary = nn.Sequential(nn.Conv2d(cin, init, 1, bias=False), nn.BatchNorm2d(init), nn.ReLU())
        self.cheap = nn.Sequential(nn.Conv2d(init, init, 3, padding=1, groups=init, bias=False), nn.BatchNorm2d(init))
        self.out = out

    def forward(self, x):
        a = self.primary(x)
        return torch.cat([a, self.cheap(a)], dim=1)[:, :self.out, :, :]


class GhostNet(nn.Module):
    """Ghost modules and ReXNet's partial residual: the block's first channels get the shortcut
    (`y[:, :C] + x`), the rest pass (`y[:, C:]`), concatenated back."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 10, 3, stride=2, padding=1)
        self.ghost = GhostModule(10, 15)
        self.expand = nn.Conv2d(15, 21, 1)
        self.fc = nn.Linear(21, 4)

    def forward(self, x):
        x = self.ghost(self.stem(x))
        y = self.expand(x)
        y = torch.cat([y[:, 0:15] + x, y[:, 15:]], dim=1)
        return self.fc(y.mean((2, 3)))


class KerasOrder(nn.Module):
    """A network ported from Keras: its Flatten reads the feature map channels-last (permute, then
    flatten), so the dense layer's weights are in that order; the counts are a plain flatten's."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 5 * 4, 5)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.fc(x.permute(0, 2, 3, 1).flatten(1))


class Chomp1d(nn.Module):
    """Bai et al.'s TCN: the causal conv's right padding cut off again (`x[:, :, :-chomp]`)."""

    def __init__(self, chomp: int) -> None:
        super().__init__()
        self.chomp = chomp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :-self.chomp].contiguous()


class TemporalBlock(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, d: int) -> None:
        super().__init__()
        pad = (k - 1) * d
        self.conv1, self.chomp1 = nn.Conv1d(cin, cout, k, padding=pad, dilation=d), Chomp1d(pad)
        self.conv2, self.chomp2 = nn.Conv1d(cout, cout, k, padding=pad, dilation=d), Chomp1d(pad)
        self.downsample = nn.Conv1d(cin, cout, 1) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.chomp2(self.conv2(F.relu(self.chomp1(self.conv1(x))))))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class TCN(nn.Module):
    """A temporal convolutional network (Bai et al. 2018): causal dilated convs, each chomped, then
    linear layers over the time axis of the [C, L] map (nn.Linear on an N-D input)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(TemporalBlock(4, 8, 3, 1), TemporalBlock(8, 8, 3, 2))
        self.proj = nn.Linear(24, 6)
        self.head = nn.Linear(6, 3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(self.proj(self.blocks(x)))[:, 1:7])


class CropUNet(nn.Module):
    """The original U-Net's skip (Ronneberger et al. 2015): unpadded convs, so the skip is centre
    cropped to the upsampled map (`x[:, :, a:b, c:d]`, bounds from the shapes) before the cat; a
    corner crop of rows and channels at once before the head."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.bottom = nn.Sequential(nn.Conv2d(4, 8, 3), nn.ReLU())
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.out = nn.Sequential(nn.Conv2d(8, 4, 3), nn.ReLU())
        self.head = nn.Conv2d(3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.down(x)
        y = self.up(self.bottom(self.pool(skip)))
        h, w = y.shape[2], y.shape[3]
        top, left = (skip.shape[2] - h) // 2, (skip.shape[3] - w) // 2
        y = self.out(torch.cat([skip[:, :, top:top + h, left:left + w], y], dim=1))
        return self.head(y[:, 1:, 2:-1, ...])


def build_tcn() -> nn.Module:
    return TCN()


def build_crop_unet() -> nn.Module:
    return CropUNet()


class ParamReuse(nn.Module):
    """fvcore's test_param_with_reuse: conv2's weight is conv1's tensor, its bias its own. PyTorch's
    parameters() yields the tied tensor once: 100 * 100 * 3 * 3 + 100 + 100 = 90,200."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(100, 100, 3)
        self.conv2 = nn.Conv2d(100, 100, 3)
        self.conv2.weight = self.conv1.weight

    def forward(self, x):
        return self.conv2(self.conv1(x))


class Refine(nn.Module):
    """Recursive refinement: one conv-bn block applied three times in a loop (torchinfo's
    `recursive`), then a siamese pair of one tower on the image and on its half-size copy
    (`siamese`), and a head tied to the stem's weight (a separate bias)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.step = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.tower = nn.Sequential(nn.Conv2d(8, 6, 3), nn.ReLU())
        self.fc = nn.Linear(12, 12)
        self.out = nn.Linear(12, 12)
        self.out.weight = self.fc.weight

    def forward(self, x):
        x = self.stem(x)
        for _ in range(3):
            x = F.relu(x + self.step(x))
        a = self.tower(x).mean((2, 3))
        b = self.tower(F.avg_pool2d(x, 2)).mean((2, 3))
        return self.out(torch.relu(self.fc(torch.cat([a, b], 1))))


def build_param_reuse() -> nn.Module:
    return ParamReuse()


def build_refine() -> nn.Module:
    return Refine()


def build_se() -> nn.Module:
    return SENet()


def build_unet() -> nn.Module:
    return UNet()


def build_dilated() -> nn.Module:
    return DilatedNet1d()


def build_sr() -> nn.Module:
    return SuperResolution()


def build_dcgan() -> nn.Module:
    return Generator()


def build_convnext() -> nn.Module:
    return ConvNeXtNet()


def build_video() -> nn.Module:
    return VideoNet()


def build_shuffle() -> nn.Module:
    return ShuffleNet()


def build_functional() -> nn.Module:
    return FunctionalNet()


def build_ghost() -> nn.Module:
    return GhostNet()


def build_keras_order() -> nn.Module:
    return KerasOrder()


def build_resnet() -> nn.Module:
    return SmallResNet()


INPUTS = {
    "build_se": (3, 32, 32),
    "build_unet": (1, 32, 32),
    "build_dilated": (2, 200),
    "build_sr": (3, 17, 19),
    "build_dcgan": (100, 1, 1),
    "build_resnet": (3, 32, 32),
    "build_convnext": (3, 32, 32),
    "build_video": (3, 4, 16, 16),
    "build_shuffle": (3, 32, 32),
    "build_functional": (3, 33, 30),
    "build_ghost": (3, 16, 16),
    "build_keras_order": (3, 12, 10),
    "build_tcn": (4, 24),
    "build_crop_unet": (1, 28, 31),


    "build_param_reuse": (100, 8, 8),
    "build_refine": (3, 16, 16),
}


# Models as a SOURCE hands them over in other forms than a plain module (tests/test_import.py)


def build_scripted() -> nn.Module:
    return torch.jit.script(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))


def build_traced() -> nn.Module:
    import warnings

    with warnings.catch_warnings():  # torch.jit.trace's deprecation
        warnings.simplefilter("ignore")
        return torch.jit.trace(nn.Conv2d(3, 4, 3), torch.zeros(1, 3, 8, 8))


class Odd(nn.Module):
    """A conv and an operator no rule maps (torch.erf): imports only with allow_unknown."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.erf(self.conv(x)))


def build_odd() -> nn.Module:
    return Odd()


# A bare layer as the whole model, and transposed convolutions written with F.conv_transpose*d


def build_bare_bn() -> nn.Module:
    return nn.BatchNorm2d(3)


def build_bare_bn1d() -> nn.Module:
    return nn.BatchNorm1d(3, eps=1e-3)


def build_bare_deconv() -> nn.Module:
    return nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)


def build_bare_deconv1d() -> nn.Module:
    return nn.ConvTranspose1d(2, 3, 4, stride=3, dilation=2, bias=False)


def build_bare_deconv3d() -> nn.Module:
    return nn.ConvTranspose3d(2, 4, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))


def _functional_deconv(base: type, function: Any) -> type:
    class FunctionalDeconv(base):  # type: ignore[misc, valid-type]
        """Its own forward, as timm's Conv2dSame has one: F.conv_transpose*d, positional."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            return function(x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups,
                            self.dilation)

    return FunctionalDeconv


FunctionalDeconv1d = _functional_deconv(nn.ConvTranspose1d, F.conv_transpose1d)
FunctionalDeconv2d = _functional_deconv(nn.ConvTranspose2d, F.conv_transpose2d)
FunctionalDeconv3d = _functional_deconv(nn.ConvTranspose3d, F.conv_transpose3d)


def build_functional_deconv1d() -> nn.Module:
    return FunctionalDeconv1d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2, bias=False)


def build_functional_deconv3d() -> nn.Module:
    return FunctionalDeconv3d(2, 3, 2, stride=2, dilation=(1, 2, 2))


class DeconvNet(nn.Module):
    """A decoder step whose upsampling is F.conv_transpose2d in a module's own forward."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.up = FunctionalDeconv2d(8, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2)
        self.bn = nn.BatchNorm2d(6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.up(torch.relu(self.conv(x)))))


def build_functional_deconv() -> nn.Module:
    return DeconvNet()


INPUTS["build_functional_deconv"] = (4, 7, 6)


class UnpoolAutoencoder(nn.Module):
    """torchinfo's autoencoder: the encoder's MaxPool2d(return_indices=True), the decoder's
    MaxUnpool2d(x, indices); and a functional pair inside (F.max_pool2d / F.max_unpool2d)."""

    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)
        self.decode = nn.Sequential(nn.ConvTranspose2d(8, 3, 3, padding=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, indices = self.pool(self.encode(x))
        z, inner = F.max_pool2d(y, 3, 2, 1, return_indices=True)
        y = F.max_unpool2d(torch.relu(z), inner, 3, 2, 1)  # back to the 5x7 the pool made
        return self.decode(self.unpool(y, indices))


def build_unpool() -> nn.Module:
    return UnpoolAutoencoder()


# Held against PyTorch by tests/test_import.py only: torch's ONNX exporters write a max unpool as a
# ScatterND of computed positions, which the ONNX reader does not map (docs/import.md)
TORCH_ONLY = {"build_unpool": (3, 10, 14)}


# Weights a module computes in its forward: pruned (torch.nn.utils.prune) and parametrized


class PrunedNet(nn.Module):
    """Every kind of reparametrized weight on the layers convcalc maps: an L1-unstructured prune
    (half of conv1's weight masked), a structured prune twice on one tensor (a PruningContainer),
    weight norm, spectral norm (u, v buffers) and an orthogonal Linear."""

    def __init__(self) -> None:
        from torch.nn.utils import parametrizations, prune

        super().__init__()
        torch.manual_seed(0)
        self.conv1 = prune.l1_unstructured(nn.Conv2d(3, 8, 3, padding=1), "weight", amount=0.5)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        prune.ln_structured(self.conv2, "weight", amount=2, n=2, dim=0)  # 2 of 8 filters
        prune.ln_structured(self.conv2, "weight", amount=1, n=2, dim=0)  # and one more: a PruningContainer
        self.conv3 = parametrizations.weight_norm(nn.Conv2d(8, 4, 3))
        self.conv4 = parametrizations.spectral_norm(nn.Conv2d(4, 4, 1))
        self.fc = parametrizations.orthogonal(nn.Linear(4 * 6 * 6, 4 * 6 * 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(self.conv4(self.conv3(x)).flatten(1))


def build_pruned() -> nn.Module:
    return PrunedNet()


class TwoHeads(nn.Module):
    """A multi-task net: a shared trunk, a classification head and a segmentation head, returned
    as a dict (torchvision's segmentation models return {"out": ..., "aux": ...})."""

    def __init__(self, classes: int = 5, masks: int = 2) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                   nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.cls = nn.Linear(16, classes)
        self.seg = nn.Conv2d(16, masks, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.trunk(x)
        logits = self.cls(torch.flatten(F.adaptive_avg_pool2d(features, 1), 1))
        return {"logits": logits, "mask": self.seg(features)}


class TwoHeadsTuple(TwoHeads):
    """The same net returning a tuple (logits, mask)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        out = super().forward(x)
        return out["logits"], out["mask"]


class FeaturesAndLogits(TwoHeads):
    """Returns the trunk's features (which the heads read) beside a nested dict of the heads."""

    def forward(self, x: torch.Tensor) -> Any:  # type: ignore[override]
        features = self.trunk(x)
        logits = self.cls(torch.flatten(F.adaptive_avg_pool2d(features, 1), 1))
        return features, {"logits": logits, "mask": self.seg(features)}


def build_two_heads() -> nn.Module:
    return TwoHeads()


def build_two_heads_tuple() -> nn.Module:
    return TwoHeadsTuple()


def build_features_and_logits() -> nn.Module:
    return FeaturesAndLogits()


# Models with several outputs, apart from INPUTS (whose tests compare one output)
SEVERAL_OUTPUTS = {"build_two_heads": (3, 16, 16), "build_two_heads_tuple": (3, 16, 16),
                   "build_features_and_logits": (3, 16, 16)}


# Attention models, apart from INPUTS: their truth needs nn.MultiheadAttention's fast path off and
# SDPA on its math backend (docs/costs.md), which tests/test_import_attention.py arranges.


class MLPBlock(nn.Sequential):
    """torchvision's MLPBlock (torchvision.ops.MLP): Linear, GELU, Dropout, Linear, Dropout."""

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, in_dim),
                         nn.Dropout(dropout))


class EncoderBlock(nn.Module):
    """torchvision's EncoderBlock: pre-norm self-attention and MLP, each in a residual."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float, attention_dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        torch._assert(input.dim() == 3, f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}")
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x)
        x = x + input
        y = self.ln_2(x)
        y = self.mlp(y)
        return x + y


class Encoder(nn.Module):
    """torchvision's Encoder: the position embedding added, dropout, the layers, a final LayerNorm."""

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int,
                 dropout: float, attention_dropout: float) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        layers: dict[str, nn.Module] = {}
        for i in range(num_layers):
            layers[f"encoder_layer_{i}"] = EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout)
        from collections import OrderedDict

        self.layers = nn.Sequential(OrderedDict(layers))
        self.ln = nn.LayerNorm(hidden_dim, eps=1e-6)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        torch._assert(input.dim() == 3, f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}")
        input = input + self.pos_embedding
        return self.ln(self.layers(self.dropout(input)))


class VisionTransformer(nn.Module):
    """torchvision.models.VisionTransformer as it is written (conv_proj, reshape and permute to
    tokens, class_token, encoder, x[:, 0], heads.head), without its weight initialisation."""

    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, dropout: float = 0.0, attention_dropout: float = 0.0, num_classes: int = 10) -> None:
        super().__init__()
        torch._assert(image_size % patch_size == 0, "Input shape indivisible by patch size!")
        self.image_size, self.patch_size, self.hidden_dim = image_size, patch_size, hidden_dim
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        seq_length += 1
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout)
        self.seq_length = seq_length
        self.heads = nn.Sequential()
        self.heads.add_module("head", nn.Linear(hidden_dim, num_classes))

    def _process_input(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        p = self.patch_size
        torch._assert(h == self.image_size, f"Wrong image height! Expected {self.image_size} but got {h}!")
        torch._assert(w == self.image_size, f"Wrong image width! Expected {self.image_size} but got {w}!")
        n_h = h // p
        n_w = w // p
        x = self.conv_proj(x)
        x = x.reshape(n, self.hidden_dim, n_h * n_w)
        x = x.permute(0, 2, 1)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._process_input(x)
        n = x.shape[0]
        batch_class_token = self.class_token.expand(n, -1, -1)
        x = torch.cat([batch_class_token, x], dim=1)
        x = self.encoder(x)
        x = x[:, 0]
        x = self.heads(x)
        return x


def build_vit() -> nn.Module:
    return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=3, hidden_dim=48, mlp_dim=96)


class SdpaBlock(nn.Module):
    """Attention written out: q, k, v projections, heads by view and transpose,
    F.scaled_dot_product_attention, the heads merged back, an out projection; on a conv's tokens
    (x.flatten(2).transpose(1, 2)), with a residual; the head reads the tokens flattened."""

    def __init__(self, c: int = 24, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.stem = nn.Conv2d(3, c, 4, stride=4)
        self.q = nn.Linear(c, c)
        self.k = nn.Linear(c, c)
        self.v = nn.Linear(c, c)
        self.proj = nn.Linear(c, c)
        self.head = nn.Linear(c * 20, 5)  # on the 4x5 map's 20 tokens flattened

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.stem(x).flatten(2).transpose(1, 2)  # B, N, C
        b, n, c = t.shape
        q = self.q(t).view(b, n, self.heads, c // self.heads).transpose(1, 2)
        k = self.k(t).view(b, n, self.heads, c // self.heads).transpose(1, 2)
        v = self.v(t).view(b, n, self.heads, c // self.heads).transpose(1, 2)
        o = F.scaled_dot_product_attention(q, k, v)
        o = o.transpose(1, 2).reshape(b, n, c)
        t = t + self.proj(o)
        return self.head(t.flatten(1))


def build_sdpa_block() -> nn.Module:
    return SdpaBlock()


class MatmulAttention(nn.Module):
    """Attention by hand as many write it: one qkv projection chunked on the last axis, heads by
    reshape and permute, q @ k.transpose(-2, -1) (times a scale, when `scaled`), softmax(dim=-1), @ v."""

    def __init__(self, c: int = 16, heads: int = 2, scaled: bool = False) -> None:
        super().__init__()
        self.heads, self.scale = heads, (c // heads) ** -0.5 if scaled else None
        self.stem = nn.Conv2d(3, c, 4, stride=4)
        self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(c, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.stem(x).flatten(2).transpose(1, 2)
        b, n, c = t.shape
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        q = q.reshape(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)
        k = k.reshape(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)
        v = v.reshape(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)
        a = q @ k.transpose(-2, -1)
        if self.scale is not None:  # a product with a number: the scale kind
            a = a * self.scale
        a = a.softmax(dim=-1)
        o = (a @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(o)


def build_matmul_attention() -> nn.Module:
    return MatmulAttention()


def build_matmul_attention_scaled() -> nn.Module:
    return MatmulAttention(scaled=True)


class SequenceFirstAttention(nn.Module):
    """nn.MultiheadAttention with its default batch_first=False, on (N, B, E) tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 4, stride=4)
        self.attn = nn.MultiheadAttention(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.stem(x).flatten(2).permute(2, 0, 1)  # N, B, E
        return self.attn(t, t, t)[0]


def build_sequence_first() -> nn.Module:
    return SequenceFirstAttention()


class ScaledByNumbers(nn.Module):
    """Products with numbers as models write them: x * 0.5, a number times x, x / 4, torch.mul."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x) * 0.5
        x = 3 * x
        x = x / 4
        return torch.mul(x, -2)


def build_scaled_by_numbers() -> nn.Module:
    return ScaledByNumbers()


ATTENTION = {"build_vit": (3, 32, 32), "build_sdpa_block": (3, 16, 20), "build_matmul_attention": (3, 16, 12),
             "build_matmul_attention_scaled": (3, 16, 12)}
