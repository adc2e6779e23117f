"""Attention and token kinds of the registry: multi-head self-attention as nn.MultiheadAttention
builds it, scaled dot-product attention on separate q, k, v, the product of two activations, the
axis moves that turn a feature map into tokens, and ViT's class token and position embedding.

Shapes are PyTorch's, per sample (the batch is the first axis PyTorch adds): a token tensor is
`(N, C)` (nn.MultiheadAttention with batch_first, and nn.LayerNorm(C) on it as `ln over=last`),
heads are `(H, N, d)`. The attention kinds act on the last two axes, as PyTorch's do.

Conventions (docs/costs.md): MACs count the projections and both products of two activations
(QKᵀ: N·S·d per head; the weighted sum of V: N·S·d_v per head); FLOPs add 2 per MAC, the biases,
the scaling (the math path scales q and k by √scale each: one multiply per element of each), the
softmax (5 per score: max, subtract, exp, sum, divide), a mask (one add per score) and a causal
mask (one per score: the fill). PyTorch's truth is its math path
(torch.nn.attention.sdpa_kernel(SDPBackend.MATH)), which FlopCounterMode counts (two batched
products); the builders here run it, with nn.MultiheadAttention's fused fast path off, because on
the CPU FlopCounterMode counts nothing for the fused kernels. Training memory is the math path's
(it keeps the N×S probabilities per head); on the CPU it computes a low-precision input in
float32 (UPCAST).

Receptive field: attention reads every token, so its output sees everything: global context,
as after global pooling (the field collapses and `sees_all` says so). The token moves (`tokens`,
`transpose`) reorder positions as a reshape does: the field after them is one position's and the
rest is global context.
"""

from __future__ import annotations

from math import prod

from ..args import Arg, boolean, integer
from ..errors import LayerError
from .geometry import dims, numel, same_field, spread
from .kind import INPUT, LOW, MIXED, NEW, UPCAST, WHEN_NATIVE, WHEN_UPCAST, Keep, Kind, Movement, Stage, new, register, weight
from .merge import Merge


def _tokens(kind: str, x: tuple[int, ...]) -> tuple[int, int]:
    """(N, E) of a token tensor; anything else is refused, saying how to make tokens."""
    if len(x) != 2:
        raise LayerError(f"{kind} needs tokens [N, E] (batch_first), got [{dims(x)}]"
                         + (": make tokens with `tokens` (x.flatten(2).transpose(1, 2))" if len(x) > 2 else ""))
    return x


def _global(self, a, x, y, r):
    """An `rf` rule: every output reads every position (attention, token moves): on every axis
    the field keeps one position's size and start and stops moving (jump 0, as rf_collapse does
    after a global pool); the rest is global context (`sees_all`)."""
    fields = r if not self.merge else max(r, key=lambda field: [size for size, _, _ in field])
    return tuple((size, 0, start) for size, _, start in fields)


def _matrices(x: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """The number of matrices in a (..., rows, cols) tensor, and its batch axes."""
    return prod(x[:-2]), x[:-2]


@register
class MultiheadAttention(Kind):
    """nn.MultiheadAttention(E, heads, bias, add_bias_kv, batch_first=True) as self-attention on
    tokens [N, E]: q, k and v are one packed projection of the input (in_proj_weight 3E×E and
    in_proj_bias 3E), the heads are E/heads wide, the out projection is E×E + E. add_bias_kv
    appends one learned key and value (S = N + 1 keys). MACs: 3·N·E² (in projection) + N·S·E
    (QKᵀ over all heads) + N·S·E (attention times V) + N·E² (out projection)."""

    doc = ("multi-head self-attention on tokens [N, E], as `nn.MultiheadAttention(E, heads, batch_first=True)` "
           "with q = k = v; `add_bias_kv` appends a learned key and value")
    name = "mha"
    examples = ("5x8 | mha 2", "7x12 | mha 3 bias=false", "6x8 | mha 4 add_bias_kv=true",
                "3x4x4 | conv 8 k2 s2 | tokens | mha 2 | add from=tokens1,mha1")
    costs = ("4E² + 4E (bias) + 2E (add_bias_kv)", "", "4·N·E² + 2·N·S·E (S = N, + 1 with add_bias_kv)",
             "2·MACs + 4·N·E (bias) + (N + S)·E (scaling) + 5·H·N·S (softmax)")
    saves = ("its input copied, the scaled q and k, the H·N·S probabilities, v (the packed projection's storage; "
             "float32 copies on the CPU's upcast), the attention output, both weights")
    backward_costs = ("6·N·E² (the input's gradient through the in projection)",
                      "10·N·E² + 8·N·S·E + 4·H·N·S + (N + S)·E + 4·N·E (bias)")
    draws = ("tokens | mha {m}", "tokens | mha 1 add_bias_kv=true")
    aligned = True
    positional = ("heads",)
    def cost_symbols(self, a, x, y):
        return {"N": x[0], "E": x[-1], "S": x[0] + int(a["add_bias_kv"]), "H": a["heads"]}

    args = (Arg("heads", integer(), doc="attention heads (E must divide by them)"),
            Arg("bias", boolean, True), Arg("add_bias_kv", boolean, False, "append a learned key and value"))

    def _sizes(self, a, x) -> tuple[int, int, int, int]:
        n, e = _tokens(self.name, x)
        if e % a["heads"]:
            raise LayerError(f"embed dim {e} is not divisible by heads {a['heads']}")
        return n, e, a["heads"], n + (1 if a["add_bias_kv"] else 0)

    def shape(self, a, x):
        self._sizes(a, x)
        return x

    def params(self, a, x, y):
        _, e, _, _ = self._sizes(a, x)
        return sum(self.tensors(a, x, y))

    def tensors(self, a, x, y):
        # PyTorch's order: in_proj_weight, in_proj_bias, bias_k, bias_v, out_proj.weight, out_proj.bias
        e = x[1]
        return ((3 * e * e,) + ((3 * e,) if a["bias"] else ()) + ((e, e) if a["add_bias_kv"] else ())
                + (e * e,) + ((e,) if a["bias"] else ()))

    def macs(self, a, x, y):
        n, e, _, s = self._sizes(a, x)
        return 3 * n * e * e + n * s * e + n * s * e + n * e * e

    def flops(self, a, x, y):
        n, e, h, s = self._sizes(a, x)
        bias = 4 * n * e if a["bias"] else 0
        return 2 * self.macs(a, x, y) + bias + (n + s) * e + 5 * h * n * s

    # F.multi_head_attention_forward on batch_first tokens: the packed projection reads a
    # contiguous copy of the transposed input; the math path keeps √scale·k (transposed) and
    # √scale·q, the probabilities, v (a view of the packed projection's output, or with
    # add_bias_kv of the concatenation; on the CPU's upcast a float32 copy) and the heads'
    # output that the out projection reads; the projections keep their weights.
    def saved(self, a, x, y):
        n, e, h, s = self._sizes(a, x)
        v_storage = s * e if a["add_bias_kv"] else 3 * n * e
        return (new(n * e), weight(3 * e * e), new(s * e, UPCAST), new(n * e, UPCAST), new(h * n * s, UPCAST),
                new(v_storage, name=WHEN_NATIVE), new(s * e, UPCAST, name=WHEN_UPCAST), new(n * e), weight(e * e))

    # On the CPU's upcast the forward's busiest moment is the heads' float32 output beside its cast
    # back: the packed projection, q and k's float32 copies, the probabilities' low-precision copy
    # and that output in both dtypes are alive beside what it keeps (before the out projection's
    # two tensors, which the timeline counts in the end: hence 2·N·E of the packed 3·N·E here).
    def scratch(self, a, x, y):
        n, e, h, s = self._sizes(a, x)
        return (new(2 * n * e, name=WHEN_UPCAST), new(3 * n * e, UPCAST, name=WHEN_UPCAST),
                new(h * n * s, name=WHEN_UPCAST)), ()

    # The math path's backward is a chain of nodes, each letting go of what it kept (indices into
    # `saved`: 0 the input's copy, 2 k, 3 q, 4 the probabilities, 5 and 6 v, 7 the heads' output):
    # the out projection (the heads' output's gradient, its weight's and bias's gradients), the
    # product with v (the gradients of v and of the probabilities), the softmax's, the product
    # qkᵀ (the gradients of q and k), then q, k and v's gradients are put back into the packed
    # projection's shape by three zero-filled select_backward tensors summed pairwise, the in
    # projection's gradients, and the input's gradient made contiguous (batch_first) from the
    # in projection's.
    def backward_stages(self, a, x, y):
        n, e, h, s = self._sizes(a, x)
        count = len(self.tensors(a, x, y))
        out = tuple(range(count - (2 if a["bias"] else 1), count))
        return (Stage((new(n * e),), frees=(7,), params=out, inputs=False),
                Stage((new(n * e), new(n * e, UPCAST, name=WHEN_UPCAST)), params=out, inputs=False),
                Stage((new(n * e, UPCAST), new(s * e, UPCAST), new(h * n * s, UPCAST)), frees=(5, 6), params=out,
                      inputs=False),
                Stage((new(s * e, UPCAST), new(h * n * s, UPCAST), new(h * n * s, UPCAST)), frees=(4,), params=out,
                      inputs=False),
                Stage((new(s * e, UPCAST), new(h * n * s, UPCAST), new(s * e, UPCAST), new(n * e, UPCAST)),
                      frees=(2, 3), params=out, inputs=False),
                Stage((new(n * e),) + (new(3 * n * e),) * 3, params=out, inputs=False),
                Stage((new(3 * n * e),), frees=(0,)),
                Stage((Keep(NEW, n * e, grad_of=0),)))

    # dx through the in projection only for the input's gradient; always: the out projection's
    # two gradients, the four products' gradients (2 each of QKᵀ and PV), softmax's backward
    # (4 per score), the scaling's, the in projection's weight gradient and the bias sums.
    def backward_flops(self, a, x, y):
        n, e, h, s = self._sizes(a, x)
        bias = 4 * n * e if a["bias"] else 0
        return 6 * n * e * e, 4 * n * e * e + 8 * n * s * e + 4 * h * n * s + (n + s) * e + 6 * n * e * e + bias

    def fvcore(self, a, x, y):
        n, e, _, _ = self._sizes(a, x)
        return 4 * n * e * e  # its linear projections; it traces the products as scaled_dot_product_attention, unsupported

    def flop_counter_backward(self, a, x, y, input_grad):
        n, e, _, s = self._sizes(a, x)
        return 2 * (3 * n * e * e * (2 if input_grad else 1) + 2 * n * e * e + 4 * n * s * e)

    def autocast(self, a, x, device):
        return LOW  # its linear projections and scaled_dot_product_attention are on the low-precision lists

    def sees_all(self, a, x, y):
        return x[0] > 1

    rf = _global

    def build(self, a, x, y):
        return self.torch("SelfAttention", x[1], a["heads"], a["bias"], a["add_bias_kv"])


@register
class ScaledDotProductAttention(Merge):
    """F.scaled_dot_product_attention(q, k, v, attn_mask, is_causal) on the math path: `from: [q,
    k, v]` or `[q, k, v, mask]`, each (..., rows, cols) with the same leading axes (the heads: H,
    or none). q (L, E), k (S, E), v (S, Ev) -> (L, Ev); a float mask (an additive bias) must
    broadcast to (L, S). MACs: L·S·E (QKᵀ) + L·S·Ev (times V) per matrix."""

    doc = ("scaled dot-product attention, `from: [q, k, v]` or `[q, k, v, mask]` (an additive float mask "
           "broadcasting to [..., L, S]): q [..., L, E], k [..., S, E], v [..., S, Ev] → [..., L, Ev]; `causal`")
    name = "sdpa"
    examples = ("2x5x4 | identity name=q | sdpa from=q,input,input",
                "2x6x4 | relu name=x | conv 2 k1 name=q | conv 2 k1 from=x name=k | sdpa from=q,k,x causal=true",
                "3x5x4 | matmul from=input,input transpose_b=true name=s | sdpa from=input,input,input,s")
    costs = ("", "", "H·L·S·(E + Ev): QKᵀ, then the probabilities times V",
             "2·MACs + H·(L + S)·E (scaling) + 5·H·L·S (softmax) + H·L·S (masked): a mask's add or causal's fill")
    saves = "√scale·q and √scale·k, the H·L·S probabilities and v (on the CPU's upcast float32 copies)"
    backward_costs = ("", "4·MACs + 4·H·L·S (softmax) + H·(L + S)·E (scaling)")
    aligned = True
    args = (Arg("causal", boolean, False, "mask the keys after each query (is_causal)"),)

    def cost_symbols(self, a, x, y):
        q, k, v = x[:3]
        return {"H": prod(q[:-2]), "L": q[-2], "S": k[-2], "E": q[-1], "Ev": v[-1],
                "masked": int(len(x) > 3 or a["causal"])}

    def _sizes(self, a, xs) -> tuple[int, int, int, int, int]:
        if len(xs) not in (3, 4):
            raise LayerError(f"sdpa reads q, k, v and an optional mask, got {len(xs)} inputs")
        q, k, v = xs[:3]
        if any(len(t) < 2 for t in (q, k, v)):
            raise LayerError(f"sdpa needs q, k, v of at least 2 axes [..., N, E], got "
                             f"{', '.join('[' + dims(t) + ']' for t in (q, k, v))}")
        if not (q[:-2] == k[:-2] == v[:-2]):
            raise LayerError(f"sdpa needs the same heads (leading axes) in q, k and v, got "
                             f"{', '.join('[' + dims(t) + ']' for t in (q, k, v))}")
        if q[-1] != k[-1]:
            raise LayerError(f"q and k widths differ: q [{dims(q)}] has {q[-1]}, k [{dims(k)}] has {k[-1]}")
        if k[-2] != v[-2]:
            raise LayerError(f"k and v have different token counts: [{dims(k)}] and [{dims(v)}]")
        m, _ = _matrices(q)
        l, e, s, ev = q[-2], q[-1], k[-2], v[-1]
        if len(xs) == 4:
            if a["causal"]:
                raise LayerError("sdpa takes a mask or causal=true, not both (PyTorch refuses both)")
            mask, target = xs[3], (*q[:-2], l, s)
            if len(mask) > len(target) or any(u not in (1, t) for u, t in zip(mask[::-1], target[::-1])):
                raise LayerError(f"the mask [{dims(mask)}] does not broadcast to the scores [{dims(target)}]")
        return m, l, e, s, ev

    def shape(self, a, xs):
        self._sizes(a, xs)
        return (*xs[0][:-1], xs[2][-1])

    def macs(self, a, xs, y):
        m, l, e, s, ev = self._sizes(a, xs)
        return m * (l * s * e + l * s * ev)

    def flops(self, a, xs, y):
        m, l, e, s, ev = self._sizes(a, xs)
        masked = m * l * s if (a["causal"] or len(xs) == 4) else 0
        return 2 * self.macs(a, xs, y) + m * (l + s) * e + 5 * m * l * s + masked

    def saved(self, a, xs, y):
        m, l, e, s, ev = self._sizes(a, xs)
        return (new(m * s * e, UPCAST), new(m * l * e, UPCAST), new(m * l * s, UPCAST),
                Keep(INPUT, index=2, name=WHEN_NATIVE), new(m * s * ev, UPCAST, name=WHEN_UPCAST))

    # A mask makes the forward's busiest moment the scores beside the masked scores (and causal's
    # [L, S] mask, one for all samples), before the probabilities and the output.
    def scratch(self, a, xs, y):
        m, l, _, s, _ = self._sizes(a, xs)
        masked = (new(m * l * s, UPCAST),) if a["causal"] or len(xs) == 4 else ()
        return masked + ((new(l * s, batched=False),) if a["causal"] else ()), ()

    # The math path's backward, node by node (indices into `saved`: 0 k, 1 q, 2 the probabilities,
    # 3 and 4 v): the product with v (v's and the probabilities' gradients), the softmax's, the
    # product qkᵀ (q's and k's), then the scalings make the inputs' gradients.
    def backward_stages(self, a, xs, y):
        m, l, e, s, ev = self._sizes(a, xs)
        dv, dp = new(m * s * ev, UPCAST), new(m * l * s, UPCAST)
        return (Stage((dv, dp), frees=(3, 4), inputs=False),
                Stage((dv, dp, dp), frees=(2,), inputs=False),
                Stage((dv, dp, new(m * l * e, UPCAST), new(m * s * e, UPCAST)), frees=(0, 1), inputs=False),
                Stage())

    def backward_flops(self, a, xs, y):
        m, l, e, s, ev = self._sizes(a, xs)
        return 0, 4 * self.macs(a, xs, y) + 4 * m * l * s + m * (l + s) * e

    def flop_counter_backward(self, a, xs, y, input_grad):
        return 4 * self.macs(a, xs, y)  # dQ, dK, dP and dV: two products each way

    def autocast(self, a, xs, device):
        return LOW  # scaled_dot_product_attention is on both devices' low-precision lists

    def sees_all(self, a, xs, y):
        return xs[1][-2] > 1

    rf = _global

    def build(self, a, x, y):
        return self.torch("Sdpa", a["causal"])


@register
class MatMul(Merge):
    """torch.matmul of two activations, `from: [a, b]`: (..., n, m) @ (..., m, p) -> (..., n, p),
    the leading axes broadcast (equal ranks). `transpose_b` multiplies by bᵀ (q @ kᵀ). MACs
    n·m·p per output matrix; FLOPs 2·MACs, as a linear layer's."""

    doc = ("product of two activations `from: [a, b]` (torch.matmul, leading axes broadcast, equal ranks): "
           "[..., n, m] @ [..., m, p] → [..., n, p]; `transpose_b` takes bᵀ (q @ kᵀ)")
    name = "matmul"
    examples = ("2x5x4 | matmul from=input,input transpose_b=true",
                "2x3x4 | conv 2 k1 name=a | reshape shape=2,4,3 name=b | matmul from=a,b",
                "2x3x4 | relu name=a | conv 1 k1 | reshape shape=1,4,3 name=b | matmul from=a,b")
    costs = ("", "", "b·n·m·p: b output matrices [n, p], m the inner size", "2·MACs")
    saves = "each factor, for the other's gradient (a broadcast one as its expanded copy)"
    backward_costs = ("2·MACs per input that needs a gradient", "")
    aligned = True
    args = (Arg("transpose_b", boolean, False, "multiply by the transpose of b's last two axes"),)

    def cost_symbols(self, a, x, y):
        return {"b": prod(y[:-2]), "n": y[-2], "p": y[-1], "m": x[0][-1]}

    def _b(self, a, xs):
        b = xs[1]
        return (*b[:-2], b[-1], b[-2]) if a["transpose_b"] and len(b) >= 2 else b

    def shape(self, a, xs):
        if len(xs) != 2:
            raise LayerError(f"matmul multiplies two inputs, got {len(xs)}")
        u, v = xs[0], self._b(a, xs)
        if len(u) < 2 or len(v) < 2 or len(u) != len(v):
            raise LayerError(f"matmul needs two inputs of one rank, 2 axes or more, got [{dims(u)}] and [{dims(xs[1])}]")
        if u[-1] != v[-2]:
            raise LayerError(f"matmul cannot multiply [{dims(u)}] by [{dims(v)}]: {u[-1]} ≠ {v[-2]}")
        lead = []
        for p, q in zip(u[:-2], v[:-2]):
            if p != q and 1 not in (p, q):
                raise LayerError(f"matmul cannot broadcast [{dims(u)}] and [{dims(v)}]")
            lead.append(max(p, q))
        return (*lead, u[-2], v[-1])

    def macs(self, a, xs, y):
        return numel(y) * xs[0][-1]

    def flops(self, a, xs, y):
        return 2 * self.macs(a, xs, y)

    def fvcore(self, a, xs, y):
        return self.macs(a, xs, y)  # fvcore's matmul rule: one per multiply-add

    # matmul keeps each factor for the other's gradient: the input itself, or, broadcast along a
    # leading axis, the expanded copy it multiplies
    def saved(self, a, xs, y):
        keeps = []
        for i, x in enumerate(xs):
            other = 1 - i
            if x[:-2] == y[:-2]:
                keeps.append(Keep(INPUT, index=i, grad_of=other))
            else:
                keeps.append(Keep(NEW, numel(y[:-2]) * x[-2] * x[-1], grad_of=other))
        return tuple(keeps)

    def backward_flops(self, a, xs, y):
        return 0, 4 * self.macs(a, xs, y)

    def autocast(self, a, xs, device):
        return LOW  # matmul is on the low-precision lists

    def sees_all(self, a, xs, y):
        return xs[0][-1] > 1

    rf = _global

    def build(self, a, x, y):
        return self.torch("MatMul", a["transpose_b"])


class Move(Movement):
    """An axis move of tokens: a view (no arithmetic, nothing kept: Movement's rules); the gradient
    is moved back as a view, and the tokens it makes are global context."""

    view = train_view = True
    costs = ("", "", "", "0 (a view)")
    saves = "nothing (a view)"
    backward_costs = ("", "")

    def grad_view(self, a, x, y, i):
        return True

    def sees_all(self, a, x, y):
        return spread(x[1:])

    rf = _global


@register
class Tokens(Move):
    """A feature map as tokens: [C, *spatial] -> [H·W·…, C], PyTorch's x.flatten(2).transpose(1, 2)
    (ViT's patch embedding after its conv)."""

    doc = "a feature map as tokens: [C, H, W] → [H·W, C] (`x.flatten(2).transpose(1, 2)`, a view)"
    name = "tokens"
    examples = ("3x4x4 | tokens", "8x5 | tokens", "2x2x3x3 | tokens | ln over=last")
    draws = ("tokens",)

    def shape(self, a, x):
        if len(x) < 2:
            raise LayerError(f"tokens needs a feature map [C, ...], got [{dims(x)}]")
        return (numel(x[1:]), x[0])

    def build(self, a, x, y):
        return self.torch("Tokens")


@register
class Transpose(Move):
    """x.transpose(dim0, dim1), PyTorch's numbering (the batch is 0 and stays)."""

    doc = "swap two axes, `x.transpose(dim0, dim1)` with PyTorch's numbering (batch 0 stays; −1 the last)"
    name = "transpose"
    examples = ("5x8 | transpose 1 2", "2x3x4 | transpose -1 -2", "3x4x4 | tokens | transpose 1 2 | reshape shape=3,4,4")
    draws = ("transpose 1 -1",)
    positional = ("dim0", "dim1")
    args = (Arg("dim0", integer(-8, 8)), Arg("dim1", integer(-8, 8)))

    def axes(self, a, x) -> tuple[int, int]:
        rank = len(x) + 1
        out = []
        for key in ("dim0", "dim1"):
            d = a[key]
            if not -rank <= d < rank or d % rank == 0:
                raise LayerError(f"transpose {key} {d} is not an axis of [N, {dims(x)}] other than the batch (0)")
            out.append(d % rank - 1)
        return out[0], out[1]

    def shape(self, a, x):
        i, j = self.axes(a, x)
        y = list(x)
        y[i], y[j] = y[j], y[i]
        return tuple(y)

    def sees_all(self, a, x, y):
        return x != y and spread(x[1:])

    def rf(self, a, x, y, r):
        return _global(self, a, x, y, r) if self.sees_all(a, x, y) else r

    def build(self, a, x, y):
        return self.torch("Transpose", a["dim0"], a["dim1"])


@register
class ClsToken(Kind):
    """ViT's class token: a learned [1, 1, C] parameter concatenated in front of the tokens,
    torch.cat([token.expand(B, -1, -1), x], dim=1): [N, C] -> [N + 1, C], C params."""

    doc = "ViT's class token: a learned [C] token put in front, `cat([cls.expand(B, -1, -1), x], 1)`: [N, C] → [N+1, C]"
    name = "cls_token"
    examples = ("5x8 | cls_token", "3x4x4 | tokens | cls_token | mha 3")
    costs = ("E: the token width", "", "", "0 (a copy)")
    saves = "nothing (its backward hands each input its slice of the gradient)"
    backward_costs = ("", "C·(B − 1) adds (the expanded token's gradient summed over the batch)")
    draws = ("tokens | cls_token",)

    def cost_symbols(self, a, x, y):
        return {"E": x[-1]}

    def shape(self, a, x):
        n, c = _tokens(self.name, x)
        return (n + 1, c)

    def params(self, a, x, y):
        return x[1]

    def flops(self, a, x, y):
        return 0

    def saved(self, a, x, y):
        return ()

    def backward_flops(self, a, x, y):
        return 0, 0

    def autocast(self, a, x, device):
        return MIXED  # cat with the float32 token promotes a low-precision input

    rf = same_field

    def build(self, a, x, y):
        return self.torch("ClsToken", x[1])


@register
class PosEmbed(Kind):
    """A learned position embedding added to every sample: x + pos, pos a [1, *shape] parameter
    (ViT's [1, N, C]): params X, FLOPs X (one add per element)."""

    doc = "a learned position embedding of the input's shape, added (`x + pos`, ViT's [1, N, C])"
    name = "pos_embed"
    examples = ("5x8 | pos_embed", "3x4x4 | tokens | cls_token | pos_embed")
    costs = ("X", "", "", "X")
    saves = "nothing (the sum's backward hands the gradient on)"
    backward_costs = ("", "X·(B − 1) adds (the parameter's gradient summed over the batch)")
    draws = ("pos_embed",)

    def shape(self, a, x):
        return x

    def params(self, a, x, y):
        return numel(x)

    def flops(self, a, x, y):
        return numel(x)

    def saved(self, a, x, y):
        return ()

    def backward_flops(self, a, x, y):
        return 0, 0

    def grad_view(self, a, x, y, i):
        return True

    def autocast(self, a, x, device):
        return MIXED  # a low-precision input plus a float32 parameter is float32

    rf = same_field

    def build(self, a, x, y):
        return self.torch("PosEmbed", x)
