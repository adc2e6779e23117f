"""PyTorch's and Keras' words get convcalc's name as the suggestion, in YAML and in the text form
(issue 11, section 8), and the did-you-mean search stays what it was for ordinary typos."""

from __future__ import annotations

import pytest

import convcalc
from convcalc.suggest import did_you_mean
from convcalc.layers import REGISTRY


@pytest.mark.parametrize("foreign, ours", [
    ("batchnorm", "bn"), ("BatchNorm2d", "bn"), ("nn.BatchNorm1d", "bn"), ("BatchNormalization", "bn"),
    ("dense", "linear"), ("Dense", "linear"), ("Linear", "linear"), ("Conv2d", "conv"), ("Conv2D", "conv"),
    ("ConvTranspose2d", "deconv"), ("Conv2DTranspose", "deconv"), ("MaxPool2d", "maxpool"),
    ("MaxPooling2D", "maxpool"), ("AvgPool2d", "avgpool"), ("AveragePooling2D", "avgpool"),
    ("GlobalAveragePooling2D", "gap"), ("AdaptiveAvgPool2d", "adaptive_avgpool"), ("ReLU", "relu"),
    ("LeakyReLU", "leakyrelu"), ("GELU", "gelu"), ("SiLU", "silu"), ("LayerNorm", "ln"), ("GroupNorm", "gn"),
    ("InstanceNorm2d", "in"), ("LocalResponseNorm", "lrn"), ("DepthwiseConv2D", "dwconv"),
    ("SeparableConv2D", "sepconv"), ("UpSampling2D", "upsample"), ("Upsample", "upsample"),
    ("ZeroPadding2D", "pad"), ("Cropping2D", "crop"), ("Concatenate", "concat"), ("Dropout2d", "dropout"),
    ("MaxUnpool2d", "maxunpool"), ("ChannelShuffle", "channel_shuffle"),
])
def test_foreign_kinds_suggest_ours(foreign, ours):
    assert ours in REGISTRY
    with pytest.raises(convcalc.ConvcalcError) as caught:
        convcalc.loads(f"input: [3, 8, 8]\nlayers:\n  - {foreign}\n", "net.yaml")
    assert str(caught.value) == f"net.yaml:3: unknown layer kind '{foreign}' (did you mean '{ours}'?)"
    with pytest.raises(convcalc.ConvcalcError) as caught:
        convcalc.from_text(f"3x8x8 | {foreign}")
    assert str(caught.value) == f"<text>:1: layer 1: unknown layer kind '{foreign}' (did you mean '{ours}'?)"


CONV_KEYS = "out, k, s, p, d, groups, bias"


@pytest.mark.parametrize("kind, foreign, ours, takes", [
    ("conv", "stride", "s", CONV_KEYS), ("conv", "strides", "s", CONV_KEYS), ("conv", "padding", "p", CONV_KEYS),
    ("conv", "kernel_size", "k", CONV_KEYS), ("conv", "out_channels", "out", CONV_KEYS),
    ("conv", "filters", "out", CONV_KEYS), ("conv", "dilation", "d", CONV_KEYS),
    ("conv", "dilation_rate", "d", CONV_KEYS), ("conv", "use_bias", "bias", CONV_KEYS),
    ("maxpool", "kernel_size", "k", "k, s, p, d, ceil_mode"), ("maxpool", "pool_size", "k", "k, s, p, d, ceil_mode"),
    ("linear", "out_features", "out", "out, bias"), ("linear", "units", "out", "out, bias"),
    ("bn", "bias", "affine", "affine, eps, momentum"), ("bn", "epsilon", "eps", "affine, eps, momentum"),
    ("gn", "num_groups", "groups", "groups, affine, eps"), ("dropout", "rate", "p", "p"),
    ("leakyrelu", "negative_slope", "slope", "slope"),
    ("upsample", "scale_factor", "scale", "scale, size, mode, align_corners"),
    ("embedding", "num_embeddings", "vocab", "vocab, dim"), ("embedding", "embedding_dim", "dim", "vocab, dim"),
    ("dwconv", "depth_multiplier", "multiplier", "k, s, p, d, multiplier, bias"),
])
def test_foreign_keys_suggest_ours(kind, foreign, ours, takes):
    assert list(REGISTRY[kind].schema) == takes.split(", ")
    expected = f"unknown key '{foreign}' for {kind} (did you mean '{ours}'?); {kind} takes: {takes}"
    with pytest.raises(convcalc.ConvcalcError) as caught:
        convcalc.loads(f"input: [3, 8, 8]\nlayers:\n  - {kind}: {{{foreign}: 2}}\n", "net.yaml")
    assert str(caught.value).endswith(f"({kind}): {expected}")
    with pytest.raises(convcalc.ConvcalcError) as caught:
        convcalc.from_text(f"3x8x8 | {kind} {foreign}=2")
    assert str(caught.value).endswith(f"({kind}): {expected}")


def test_a_word_suggests_only_what_the_place_takes():
    # `stride` means `s` for a conv; a relu takes no `s`, so there is nothing to suggest.
    with pytest.raises(convcalc.ConvcalcError) as caught:
        convcalc.from_text("3x8x8 | relu stride=2")
    assert str(caught.value) == "<text>:1: layer 'relu1' (relu): unknown key 'stride' for relu; relu takes: none"
    # bias -> affine only where affine is taken
    assert did_you_mean("bias", ["affine", "eps"]) == " (did you mean 'affine'?)"
    assert did_you_mean("bias", ["k", "s"]) == ""


@pytest.mark.parametrize("key", ["in_channels", "in_features", "num_features"])
def test_sizes_convcalc_infers_say_to_leave_them_out(key):
    with pytest.raises(convcalc.ConvcalcError) as caught:
        convcalc.from_text(f"3x8x8 | conv 4 k3 {key}=3")
    assert str(caught.value) == (f"<text>:1: layer 'conv1' (conv): unknown key '{key}' for conv (convcalc takes that "
                                 f"size from the layer's input: leave it out); conv takes: {CONV_KEYS}")


def test_ordinary_typos_are_unchanged():
    assert did_you_mean("bais", ["out", "bias"]) == " (did you mean 'bias'?)"
    assert did_you_mean("rleu", REGISTRY) == " (did you mean 'relu'?)"
    assert did_you_mean("conv1", {"conv2": 1, "bn1": 1}) == " (did you mean 'conv2'?)"
    assert did_you_mean("zzz", ["out", "bias"]) == ""
    assert did_you_mean("x", []) == ""


def _near_misses(kind: str) -> set[str]:
    """`kind` with one letter dropped, one letter (`x`) inserted, or two neighbours swapped."""
    drops = {kind[:at] + kind[at + 1:] for at in range(len(kind))}
    inserts = {kind[:at] + "x" + kind[at:] for at in range(len(kind) + 1)}
    swaps = {kind[:at] + kind[at + 1] + kind[at] + kind[at + 2:] for at in range(len(kind) - 1)}
    return (drops | inserts | swaps) - {kind, ""} - set(REGISTRY)


NEAR_MISSES = sorted((kind, miss) for kind in REGISTRY for miss in _near_misses(kind))


@pytest.mark.parametrize("kind, miss", NEAR_MISSES)
def test_every_kind_one_letter_off_is_suggested(kind, miss):
    # The suggestion names `kind`, and anything else it names is one edit from `miss` too.
    hint = did_you_mean(miss, REGISTRY)
    assert hint.startswith(" (did you mean ") and f"'{kind}'" in hint, (miss, hint)
    named = hint[len(" (did you mean "):-len("?)")].replace(" or another", "").replace(" or ", ", ").split(", ")
    for other in named:
        other = other.strip("'")
        assert other in REGISTRY and len(other) - 1 <= len(miss) <= len(other) + 1, (miss, hint)


@pytest.mark.parametrize("miss, ours", [("bachnorm", "bn"), ("batchnrom", "bn"), ("lyaernorm", "ln"),
                                        ("dnse", "linear"), ("concatenat", "concat")])
def test_a_foreign_word_one_letter_off_is_suggested(miss, ours):
    with pytest.raises(convcalc.ConvcalcError) as caught:
        convcalc.loads(f"input: [3, 8, 8]\nlayers:\n  - {miss}\n", "net.yaml")
    assert str(caught.value) == f"net.yaml:3: unknown layer kind '{miss}' (did you mean '{ours}'?)"


def test_ties_one_letter_off_are_all_named():
    assert did_you_mean("ad", REGISTRY) == " (did you mean 'add' or 'pad'?)"
    assert did_you_mean("conv9", [f"conv{n}" for n in range(1, 9)]) == (
        " (did you mean 'conv1', 'conv2', 'conv3', 'conv4' or another?)")
