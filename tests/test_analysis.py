"""convcalc/analysis.py: a spec walked into a Report. Per-layer counts are the records' rules
times the batch, totals are the sums of the rows, and the peak activation memory is an inference
walk where tensors live from their producer to their last reader and views (flatten, identity,
dropout, split, reshape) share their input's memory."""

from __future__ import annotations

import pytest

from convcalc.errors import ShapeError

from .conftest import run, yaml_report

F32 = 4


def test_chain_holds_one_input_and_one_output_at_a_time():
    report = run("3x32x32 | conv 16 k3 p1 | relu | conv 4 k3 p1")
    i, a, r, c = 3 * 32 * 32 * F32, 16 * 32 * 32 * F32, 16 * 32 * 32 * F32, 4 * 32 * 32 * F32
    # step 0: input + conv1; step 1: conv1 + relu1 (input freed); step 2: relu1 + conv2
    assert report.total.peak_activation_bytes == max(i + a, a + r, r + c)


def test_a_skip_connection_stays_alive_through_the_body():
    report = run("16x8x8 | relu name=x | conv 16 k3 p1 | conv 16 k3 p1 | add from=x,conv2")
    t = 16 * 8 * 8 * F32  # every tensor here has this size
    # while conv2 runs: x (kept for the add) + conv1 (its input) + conv2 (its output)
    assert report.total.peak_activation_bytes == 3 * t


def test_views_allocate_nothing():
    flat = run("16x8x8 | relu | flatten | dropout | identity")
    assert flat.total.peak_activation_bytes == 2 * 16 * 8 * 8 * F32  # input + relu1; the rest are views
    assert flat.total.activation_bytes == 4 * 16 * 8 * 8 * F32  # each output is still reported


def test_batch_and_dtype_scale_memory():
    one = run("3x32x32 | conv 16 k3").total.peak_activation_bytes
    assert run("3x32x32 batch=4 | conv 16 k3").total.peak_activation_bytes == 4 * one
    assert run("3x32x32 dtype=bfloat16 | conv 16 k3").total.peak_activation_bytes == one // 2


def test_an_unread_branch_is_freed_at_once():
    report = run("16x8x8 | conv 64 k1 name=dead | conv 16 k1 from=input")
    i, dead, out = 16 * 64 * F32, 64 * 64 * F32, 16 * 64 * F32
    # dead is allocated next to the input, then freed; the input stays for the second conv
    assert report.total.peak_activation_bytes == max(i + dead, i + out)


def test_token_ids_are_int64():
    report = run("1x100 | embedding 1000 8")
    assert report.total.peak_activation_bytes == 100 * 8 + 8 * 100 * F32


def test_weight_bytes_per_layer_add_up_to_the_total():
    report = run("3x8x8 dtype=float16 | conv 4 k3 | bn | relu")
    conv, bn, relu = report.layers
    f16 = 2
    assert conv.weight_bytes == (4 * 3 * 3 * 3 + 4) * f16  # weights + bias
    # weight, bias, running mean and var in float16; num_batches_tracked is an int64 counter
    assert bn.weight_bytes == (4 + 4 + 4 + 4) * f16 + 8
    assert relu.weight_bytes == 0
    assert report.total.weight_bytes == conv.weight_bytes + bn.weight_bytes + relu.weight_bytes


def test_counts_are_per_sample_rules_times_the_batch():
    one, eight = run("3x16x16 | conv 8 k3 | relu", batch=1), run("3x16x16 | conv 8 k3 | relu", batch=8)
    macs = 8 * 14 * 14 * (3 * 3 * 3)  # out channels x output positions x fan-in
    assert one.layers[0].macs == macs and eight.layers[0].macs == 8 * macs
    assert eight.layers[0].params == one.layers[0].params == 8 * (3 * 3 * 3) + 8  # weights do not grow
    assert eight.layers[0].output == (8, 8, 14, 14)


def test_totals_are_the_sums_of_the_rows():
    report = run("3x32x32 | conv 16 k3 p1 | bn | relu | maxpool 2 | conv 8 k3 | gap | flatten | linear 10")
    for key in ("params", "buffers", "macs", "flops", "weight_bytes"):
        assert getattr(report.total, key) == sum(getattr(layer, key) for layer in report.layers), key
    assert report.total.activation_bytes == sum(layer.output_bytes for layer in report.layers)


def test_a_rule_refusing_is_a_located_shape_error():
    with pytest.raises(ShapeError, match=r"test.yaml:4: layer 'big' \(conv\): kernel 7 is larger"):
        yaml_report("""
            input: [3, 6, 6]
            layers:
              - conv: {out: 4, k: 7, name: big}
        """)


def test_maxunpool_checks_the_pool_its_indices_name():
    with pytest.raises(ShapeError, match="k, s and p must match those of the maxpool 'p'"):
        run("3x8x8 | maxpool 2 name=p | maxunpool 3 indices=p")
    with pytest.raises(ShapeError, match="indices must name a maxpool, 'c' is a conv"):
        run("3x8x8 | conv 3 k1 name=c | maxpool 2 | maxunpool 2 indices=c")
