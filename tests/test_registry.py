"""Every layer kind in the registry has examples, and each example's real PyTorch module agrees
with convcalc: output shape, params and buffers, fvcore's count and FlopCounterMode's count,
each under its own convention (convcalc.verify). A new kind without an example fails here."""

from __future__ import annotations

import pytest

from convcalc.layers import REGISTRY

EXAMPLES = {kind: record.examples for kind, record in REGISTRY.items()}  # each record carries its own


def test_every_kind_has_an_example():
    assert not [kind for kind, examples in EXAMPLES.items() if not examples]


CASES = [(kind, text) for kind, texts in EXAMPLES.items() for text in texts]


@pytest.mark.parametrize("kind, text", CASES, ids=[f"{k}:{t}" for k, t in CASES])
def test_example_agrees_with_pytorch(kind, text, torch):
    pytest.importorskip("fvcore")
    import convcalc
    from convcalc.verify import verify

    spec = convcalc.from_text(text)
    assert kind in {node.kind for node in spec.nodes}
    result = verify(spec, batch=2)
    bad = {layer.name: [c for c in layer.checks if not c.ok] for layer in result.layers if not layer.ok}
    assert result.ok, bad


def test_meta_device_is_used_and_fvcore_needs_real_tensors(torch):
    pytest.importorskip("fvcore")
    import convcalc
    from convcalc.verify import verify

    result = verify(convcalc.from_text("3x4096x4096 | conv 8 k3 s2 | relu"), use_fvcore=False)
    assert result.ok
    assert result.notes == ("shapes, parameters and FlopCounterMode ran on the meta device (no memory allocated)",)
    assert result.layers[0].check("shape").actual == (1, 8, 2047, 2047)


@pytest.mark.parametrize("text", EXAMPLES["fftconv"])
def test_fft_convolution_computes_the_convolution(text, torch):
    """The FFT convolution gives the same numbers as the direct one with the same weights."""
    import convcalc
    from convcalc.torch_bridge import build

    torch.manual_seed(0)
    fft = build(convcalc.from_text(text)).double()
    direct = build(convcalc.from_text(text.replace("fftconv", "conv"))).double()
    conv = direct.get_submodule("conv1")
    conv = conv[1] if isinstance(conv, torch.nn.Sequential) else conv  # TF-same convs pad first
    conv.load_state_dict(fft.get_submodule("fftconv1").state_dict())
    x = torch.randn(2, *convcalc.from_text(text).input, dtype=torch.float64)
    assert torch.allclose(fft(x), direct(x), atol=1e-10)


def test_the_docs_kind_tables_are_the_records():
    """docs/spec.md's table of kinds and docs/costs.md's cost table are generated from the records
    (scripts/kind_tables.py), so a new record is documented by itself and the docs cannot drift."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    module_spec = importlib.util.spec_from_file_location("kind_tables", root / "scripts" / "kind_tables.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    for doc, marker in module.TABLES.items():
        text = (root / doc).read_text(encoding="utf-8")
        assert module.replaced(text, marker, module.table(marker)) == text, "run: python scripts/kind_tables.py --write"
        for kind in REGISTRY:
            assert f"| `{kind}` |" in text


def test_every_record_states_its_facts():
    for kind, record in REGISTRY.items():
        assert record.doc and record.examples and len(record.costs) == 4, kind
        assert record.draws or record.merge or record.input_dtype, kind


@pytest.mark.parametrize("kind, text", CASES, ids=[f"{k}:{t}" for k, t in CASES])
def test_describe_writes_the_layer_back_in_the_one_line_form(kind, text):
    """A record's `describe` (what compare shows for a variant's layers) reads back as the same
    layer: the same normalized arguments, so the same shape and costs."""
    import convcalc

    report = convcalc.analyze(convcalc.from_text(text))
    shapes = {"input": report.input[1:], **{layer.name: layer.output[1:] for layer in report.layers}}
    for layer in report.layers:
        record = REGISTRY[layer.kind]
        if record.merge or layer.args.get("indices"):
            continue  # they name other layers: not a layer on its own
        x = shapes[layer.inputs[0]]
        if len(x) != len(report.input) - 1:
            continue  # a flat input in a spatial spec: the spec's rank is part of the arguments' meaning
        again = convcalc.from_text(f"{'x'.join(map(str, x))} | {record.describe(layer.args)}").nodes[0]
        assert again.kind == layer.kind and again.args == layer.args, record.describe(layer.args)


# The cost strings (docs/costs.md's rows) that are words, or choose between formulas by an argument,
# rather than one formula: what makes each unreadable as arithmetic. Every other string's leading
# formula is evaluated below; an entry here that has become a plain formula fails the test.
WORDED = {
    ("adaptive_avgpool", "flops"): "a product over the axes, written ∏ over axes of ...",
    ("adaptive_maxpool", "flops"): "said against adaptive_avgpool's: the same minus Y",
    ("upsample", "flops"): "one formula per mode",
    ("ln", "params"): "`over: all` makes it 2X",
    ("ln", "flops"): "4 per normalized group: a position's or the sample's",
    ("in", "flops"): "4 per normalized group; another formula with track_running_stats",
    ("gn", "flops"): "4 per normalized group: one per group",
    ("in", "buffers"): "only with track_running_stats",
    ("gelu", "flops"): "one formula per approximation",
    ("prelu", "params"): "1 or C, by per_channel",
}
COLUMNS = ("params", "buffers", "macs", "flops")  # the order of Kind.costs


def _cost_formula(cost: str, known: set[str], flags: tuple[str, ...] = ("affine",)) -> str | None:
    """The leading formula of a cost string as Python (`2·MACs + Y·bias` -> `2*MACs + Y*bias`),
    without what follows it in words (`Y·(prod(k) − 1) compares`, `4·out·C·M (a complex MAC is
    4 real ones)`); None when no prefix is a formula in the symbols `known`."""
    import ast
    import re

    s = cost.replace("**", "").replace("`", "").replace("·", "*").replace("−", "-").replace("log2 N", "log2(N)")
    s = re.sub(r"(?<![\w.])(\d+)(?=[A-Za-z(])", r"\1*", s)  # 2C -> 2*C
    s = s.replace("²", "**2")
    for flag in flags:  # a term counted only with a flag: 4E (bias), X (affine)
        s = s.replace(f" ({flag})", f"*{flag}")
    s = re.sub(r" \([a-z ]+\)", "", s)  # a word naming the term beside it: X (powers)
    for end in range(len(s), 0, -1):
        if end < len(s) and s[end] not in " (:;":
            continue
        try:
            tree = ast.parse(s[:end], mode="eval")
        except SyntaxError:
            continue
        return s[:end].strip() if {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} <= known else None
    return None


def _cost_symbols(record, a, x, y) -> dict:
    """The symbols of docs/costs.md for one layer: its arguments by name (bias and affine as 0 or 1),
    C, X, F (input channels, elements, features: the last axis), R (linear's rows: the positions of
    the axes before the last), Y and P (output elements, positions), MACs, g, m,
    og, O (deform_conv's offset channels), N and M (fftconv's FFT points and complex bins), inputs."""
    from math import prod

    from convcalc.layers import numel

    env = {key: int(value) if isinstance(value, bool) else value for key, value in a.items()}
    if record.merge:
        env["inputs"] = len(x)
    else:
        env.update(C=x[0], F=x[-1], R=numel(x[:-1]), X=numel(x), P=numel(y[1:]))
    env.update(Y=numel(y), MACs=record.macs(a, x, y), g=a.get("groups"), m=a.get("multiplier"))
    if "offset_groups" in a:
        env.update(og=a["offset_groups"], O=2 * a["offset_groups"] * prod(a["k"]))
    if hasattr(record, "fft_size"):
        env.update(N=prod(record.fft_size(a, x)), M=record.bins(a, x))
    env.update(record.cost_symbols(a, x, y))
    return env


def test_every_cost_formula_is_what_its_rule_computes():
    """Each record's `costs` (its row of docs/costs.md) against its rules, on every layer of every
    registry example: '' is a rule that gives 0, 'unknown' a count the record declares `uncounted`,
    `as `conv`` another record's row, and a formula must evaluate to what the rule computes. The rule
    runs on explain's named values (working.Term), so a disagreement shows the rule's own formula."""
    import math
    from math import prod

    import convcalc
    from convcalc.explain import trace_args, trace_shape
    from convcalc.working import Term, text

    functions = {"prod": prod, "log2": math.log2, "gcd": math.gcd}
    wrong, worded_agrees = [], set(WORDED)
    checked = set()
    for kind, example in CASES:
        report = convcalc.analyze(convcalc.from_text(example))
        shapes = {"input": report.input[1:], **{layer.name: layer.output[1:] for layer in report.layers}}
        for layer in report.layers:
            record = REGISTRY[layer.kind]
            a, y = layer.args, layer.output[1:]
            x = tuple(shapes[n] for n in layer.inputs) if record.merge else shapes[layer.inputs[0]]
            env = _cost_symbols(record, a, x, y)
            tx = tuple(trace_shape(s) for s in x) if record.merge else trace_shape(x)
            traced = (trace_args(record, a, len(y) - 1), tx, trace_shape(y, prime="'"))
            for column, cost in zip(COLUMNS, record.costs):
                if cost.startswith("as `"):
                    cost = REGISTRY[cost[4:-1]].costs[COLUMNS.index(column)]
                rule = getattr(record, column)(*traced)
                value = rule.value if isinstance(rule, Term) else rule
                if cost == "unknown":
                    ok = column in record.uncounted
                elif cost == "":
                    ok = value == 0 and column not in record.uncounted
                else:
                    flags = tuple(key for key, value in env.items() if value in (0, 1) and key.isidentifier())
                    formula = _cost_formula(cost, set(env) | set(functions), flags)
                    if formula is None:
                        ok = False
                    else:
                        want = eval(formula, dict(functions), env)  # noqa: S307 (the records' own strings)
                        ok = (round(want) if isinstance(want, float) else want) == value
                checked.add((layer.kind, column))
                if (layer.kind, column) in WORDED:
                    worded_agrees -= set() if ok else {(layer.kind, column)}
                elif not ok:
                    wrong.append(f"{layer.kind} {column}: {record.costs[COLUMNS.index(column)]!r} but the rule "
                                 f"computes {text(rule) if isinstance(rule, Term) else rule} = {value} ({example})")
    assert checked == {(kind, column) for kind in REGISTRY for column in COLUMNS}
    assert not wrong, "\n".join(wrong)
    assert not worded_agrees, f"these read as formulas now: take them out of WORDED: {sorted(worded_agrees)}"
