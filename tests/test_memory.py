"""Peak activation memory of an inference walk: tensors live from their producer to their last
reader; views (flatten, identity, dropout, split, reshape) share their input's memory."""

from __future__ import annotations

from .conftest import run

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
