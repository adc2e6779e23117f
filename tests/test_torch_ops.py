"""The functional pieces of the torch builder, against plain reference computations."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from convcalc.torch_ops import Shift  # noqa: E402


@pytest.mark.parametrize("k, shape", [((3, 3), (1, 10, 5, 6)), ((3, 1), (2, 7, 4, 4)), ((5,), (1, 11, 9))])
def test_shift_moves_each_channel_group_by_its_offset_with_zero_fill(k, shape):
    x = torch.arange(torch.Size(shape).numel(), dtype=torch.float32).reshape(shape) + 1
    out = Shift(k, shape[1])(x)
    offsets = [()]
    for size in k:
        offsets = [o + (i - size // 2,) for o in offsets for i in range(size)]
    per = shape[1] // len(offsets)
    for c in range(shape[1]):
        g = c // per
        if g >= len(offsets):  # channels past the last whole group stay put
            assert torch.equal(out[:, c], x[:, c])
            continue
        expected = torch.zeros_like(x[:, c])
        for index in torch.cartesian_prod(*[torch.arange(n) for n in shape[2:]]).reshape(-1, len(shape) - 2):
            src = [int(i) - o for i, o in zip(index, offsets[g])]  # out[i] = x[i - offset]
            if all(0 <= s < n for s, n in zip(src, shape[2:])):
                expected[(slice(None), *index.tolist())] = x[(slice(None), c, *src)]
        assert torch.equal(out[:, c], expected), (c, offsets[g])
