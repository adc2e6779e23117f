"""Fuzzing the loader: whatever arrives, convcalc answers with a result or its own one-line error.

Specs come from pull requests, so the loader must never fail with anything but a
`ConvcalcError`. Hypothesis feeds it random YAML documents built from the spec's own vocabulary
(so they reach deep: blocks, residuals, parallels, budgets, expressions), the same documents with
random bytes changed, random bytes, text made of YAML's punctuation, and one-line text specs.
Each outcome must be a success or a `ConvcalcError` whose message is one line; any other
exception is a bug. A document that loads is also analysed, checked (`convcalc check`'s budget,
warnings) and rendered in every check format.

`CONVCALC_EXAMPLES` sets the examples per test (300 by default, as in CI; 10000 for the local run
recorded in docs/testing.md). Each example is small: a few layers, sizes mostly below 70.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, strategies as st

import convcalc
from convcalc import check
from convcalc.args import REQUIRED
from convcalc.layers import REGISTRY
from convcalc.reporters.checks import CheckFormat, render
from convcalc.spec.source import decode

pytestmark = pytest.mark.slow  # hypothesis fuzzing: the slow tier

KINDS = sorted(REGISTRY)
ARG_KEYS = sorted({arg for record in REGISTRY.values() for arg in record.schema})
CONSTRUCTS = ["block", "residual", "parallel"]
STRUCTURE_KEYS = ["name", "from", "repeat", "use", "args", "layers", "body", "shortcut", "branches", "merge",
                  "x", "y", "<<"]
TOP_KEYS = ["input", "layers", "name", "batch", "dtype", "blocks", "budget", "description"]
BUDGET_KEYS = [*check.BUDGET_KEYS, "parms"]
WORDS = [*KINDS, *CONSTRUCTS, "same", "valid", "full", "input", "a", "b", "conv1", "relu1", "$x", "$y", "${x + 1}",
         "${x * y}", "${1 // 0}", "${x // y - 3}", "conv_$x", "5M", "1.5G", "100MiB", "5Mb", "3x8x8", "nearest",
         "bilinear", "concat", "add", "mul", "channels", "all", "tanh", "float16", "bfloat16", "int8", "-1", ""]
ints = st.one_of(st.integers(-2, 70), st.sampled_from([0, 1, 2**48, 2**48 + 1, 10**20, -(10**20)]))
scalars = st.one_of(ints, st.booleans(), st.none(), st.floats(width=32), st.sampled_from(WORDS),
                    st.text(max_size=6))
keys = st.one_of(st.sampled_from(TOP_KEYS + ARG_KEYS + STRUCTURE_KEYS + KINDS + BUDGET_KEYS),
                 st.text(max_size=5), st.integers(-2, 3), st.none())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(keys.filter(lambda k: k != "dtype"), inner,
                                                                       max_size=3)), max_leaves=8)
arg_values = st.one_of(ints, st.lists(st.integers(-1, 9), min_size=1, max_size=3),
                       st.sampled_from(WORDS), st.booleans(), st.floats(width=32), values)
args = st.dictionaries(st.sampled_from(ARG_KEYS + ["name", "from", "repeat", "x", "y"]), arg_values, max_size=4)
shape = st.one_of(st.lists(st.integers(1, 16), min_size=1, max_size=4),
                  st.lists(st.integers(-1, 2**49), min_size=0, max_size=5), st.sampled_from(["3x8x8", "4x9", "0x3"]),
                  scalars)


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy, one_in: int = 5) -> st.SearchStrategy:
    """`bad` once in `one_in` draws, `good` otherwise: plausible values get past the first checks
    and reach deep, and the rest are still tried at every level."""
    return st.integers(1, one_in).flatmap(lambda i: bad if i == 1 else good)


small = st.integers(1, 4)
PLAUSIBLE = {  # a plausible value per argument name; anything unlisted takes a small int
    "out": st.integers(1, 16), "dim": st.integers(1, 8), "vocab": st.integers(1, 50),
    "k": st.one_of(st.integers(1, 3), st.lists(st.integers(1, 3), min_size=1, max_size=3)),
    "s": st.integers(1, 2), "d": st.integers(1, 2), "groups": st.integers(1, 2), "output_padding": st.integers(0, 1),
    "p": st.one_of(st.integers(0, 1), st.sampled_from(["same", "valid", "full"])),
    "scale": st.sampled_from([1, 2, 0.5, 1.5]),
    "size": st.one_of(small, st.lists(st.one_of(small, st.none()), max_size=3)),
    "mode": st.sampled_from(["nearest", "bilinear", "constant", "reflect", "replicate", "circular"]),
    "over": st.sampled_from(["channels", "all"]), "value": st.sampled_from([0.0, 0, 1.5, -1]),
    "offset": st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=1, max_size=3)),
    "approximate": st.sampled_from(["none", "tanh"]), "index": st.integers(0, 1), "parts": st.integers(1, 2),
    "pieces": st.integers(1, 2), "norm": st.sampled_from([1, 2, 2.5]), "indices": st.sampled_from(["a", "b", "x"]),
    "shape": st.lists(st.integers(-1, 16), min_size=1, max_size=4),
    "init": st.floats(0, 1), "eps": st.floats(0, 1), "momentum": st.floats(0, 1), "slope": st.floats(-1, 1),
    "alpha": st.floats(0, 2),
    "name": st.sampled_from(["a", "b", "c", "x", "input", "a.b"]), "repeat": st.integers(1, 3),
    "from": st.sampled_from(["a", "b", "input", ["a", "b"], ["input", "a"], ["a", "b", "c"], "$x"]),
}
BOOLEAN_ARGS = {"bias", "affine", "ceil_mode", "count_include_pad", "align_corners", "track_running_stats",
                "per_channel", "crop"}
block_values = st.sampled_from(["$x", "$y", "${x * 2}", "${x + y}", "${x // y}"])


def plausible(key: str) -> st.SearchStrategy:
    good = st.booleans() if key in BOOLEAN_ARGS else PLAUSIBLE.get(key, small)
    return mostly(st.one_of(good, block_values) if key in ("out", "k", "s", "groups") else good, arg_values, 20)


def kind_args(kind: str) -> st.SearchStrategy:
    """Arguments of one kind: the required ones present, some optional ones, sometimes a stray key."""
    record = REGISTRY[kind]
    required = {name: plausible(name) for name, arg in record.schema.items() if arg.default is REQUIRED}
    optional = {name: plausible(name) for name, arg in record.schema.items() if arg.default is not REQUIRED}
    optional.update({meta: plausible(meta) for meta in ("name", "repeat")})
    (required if record.merge else optional)["from"] = plausible("from")
    return mostly(st.fixed_dictionaries(required, optional=optional), args, 10)


BARE = [kind for kind in KINDS if not REGISTRY[kind].merge
        and all(arg.default is not REQUIRED for arg in REGISTRY[kind].schema.values())]


def _layer(layers: st.SearchStrategy) -> st.SearchStrategy:
    kinds = st.sampled_from(KINDS)
    good = st.one_of(
        st.sampled_from(BARE),
        kinds.flatmap(lambda kind: st.builds(lambda a: {kind: a}, kind_args(kind))),
        kinds.flatmap(lambda kind: st.builds(lambda a: {kind: a}, kind_args(kind))),
        st.builds(lambda body, short, extra: {"residual": {"body": body, "shortcut": short, **extra}},
                  st.lists(layers, min_size=1, max_size=2), st.lists(layers, max_size=1), mostly(st.just({}), args)),
        st.builds(lambda branches, merge: {"parallel": {"branches": branches, "merge": merge}},
                  st.lists(st.lists(layers, max_size=1), min_size=2, max_size=3),
                  mostly(st.sampled_from(["concat", "add", "mul"]), arg_values, 10)),
        st.builds(lambda use, extra: {"block": {"use": use, **extra}}, st.sampled_from(["a", "b", "c"]),
                  st.fixed_dictionaries({}, optional={"x": plausible("out"), "y": small, "name": plausible("name"),
                                                       "repeat": plausible("repeat")})),
    )
    return mostly(good, st.one_of(kinds, values), 10)


layer = st.deferred(lambda: _layer(layer))
layer_lists = st.lists(layer, min_size=1, max_size=4)
blocks = st.dictionaries(
    mostly(st.sampled_from(["a", "b"]), st.sampled_from(["c", "1x", "input"])),
    mostly(st.one_of(layer_lists, st.fixed_dictionaries(
        {"args": st.fixed_dictionaries({}, optional={"x": st.one_of(small, st.none()), "y": small,
                                                     "z": st.one_of(st.none(), st.lists(layer, max_size=1))}),
         "layers": layer_lists})), values),
    max_size=2)
budget = st.dictionaries(st.sampled_from(BUDGET_KEYS),
                         mostly(st.one_of(st.integers(0, 10**7), st.sampled_from(["5k", "1M", "100KiB", "1.5G", "0"]),
                                          st.lists(st.integers(1, 16), min_size=1, max_size=3)),
                                st.one_of(ints, st.sampled_from(WORDS), shape, values)), max_size=4)
input_shapes = mostly(st.one_of(st.lists(st.integers(4, 16), min_size=2, max_size=4),
                                st.lists(st.integers(1, 16), min_size=1, max_size=4)), shape)
documents = mostly(
    st.fixed_dictionaries({"input": input_shapes, "layers": layer_lists, "blocks": blocks},
                          optional={"budget": mostly(budget, values), "batch": mostly(small, ints),
                                    "dtype": mostly(st.sampled_from(["float32", "float16", "bfloat16", "int8", "float64"]), values), "name": scalars, "description": scalars}),
    values,
)


yaml_texts = documents.map(lambda doc: yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def outcome(load) -> None:
    """Run `load()` and what follows a successful load; only ConvcalcError may escape, in one line."""
    try:
        spec = load()
        convcalc.analyze(spec)
        result = check.check_spec(spec, align=8, strict=True)
    except convcalc.ConvcalcError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message
        return
    run = check.CheckRun((result,), True, None, "0%", ())
    for fmt in CheckFormat:
        render(run, fmt)


@given(yaml_texts)
def test_random_yaml_documents(text):
    outcome(lambda: convcalc.loads(text, "fuzz.yaml"))


@given(yaml_texts, st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 3), st.binary(max_size=3)), max_size=4))
def test_random_yaml_with_bytes_changed(text, edits):
    data = bytearray(text.encode("utf-8"))
    for at, remove, insert in edits:
        at = min(at, len(data))
        data[at: at + remove] = insert
    outcome(lambda: convcalc.loads(decode(bytes(data), "fuzz.yaml"), "fuzz.yaml"))


@given(st.one_of(st.binary(max_size=300), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_random_bytes(data):
    outcome(lambda: convcalc.loads(decode(data, "fuzz.yaml"), "fuzz.yaml"))


@given(st.text(alphabet="{}[]:,-&*!|>'\"#%@`?<$ \n\tax09.~\\", max_size=200))
def test_yaml_punctuation(text):
    outcome(lambda: convcalc.loads(text, "fuzz.yaml"))


@given(st.lists(st.one_of(st.sampled_from(WORDS + ["|", "k3", "s2", "p1", "g2", "3x8x8", "x", "=", "from=a,b",
                                                   "name=a", "repeat=2", "batch=2", "dtype=float16", "k3x1"]),
                          st.text(max_size=4)), max_size=12))
def test_one_line_text_form(tokens):
    outcome(lambda: convcalc.from_text(" ".join(tokens)))


@given(st.text(alphabet="0123456789_:+-.xboeE", min_size=1, max_size=8))
def test_a_plain_number_like_word_is_read_as_written_or_refused(word):
    # YAML 1.1 reads 1:1 as 61, 016 as 14, 0x10 as 16: a spec must never hold such a silent
    # reading. Whatever the word, the value is the word itself (text), its decimal reading
    # (Python's int() or float() of it), or a one-line error.
    try:
        name = convcalc.loads(f"name: {word}\ninput: [3, 8]\nlayers: [relu]\n", "fuzz.yaml").name
    except convcalc.ConvcalcError as exc:
        assert "\n" not in str(exc)
        return
    readings = {word}
    for parse in (int, float):
        try:
            readings.add(str(parse(word)))
        except ValueError:
            pass
    assert name in readings or name.startswith(("[", "{")), (word, name)  # (`-` alone starts a list)


# Crashes the fuzz tests found in the core, each now refused with one line naming the line.
FOUND_BY_FUZZING = {
    "dtype_list": ("input: [3, 8, 8]\ndtype: [float16]\nlayers: [relu]\n",
                   "fuzz.yaml:2: dtype must be one of float32, float16, bfloat16, int8, float64, got ['float16']"),
    "dtype_mapping": ("input: [3, 8, 8]\ndtype: {a: 1}\nlayers: [relu]\n",
                      "fuzz.yaml:2: dtype must be one of float32, float16, bfloat16, int8, float64, got {'a': 1}"),
    # Python will not parse a decimal integer of more than 4,300 digits, nor print a larger one.
    "int_over_4300_digits": ("input: [3, " + "1" * 4301 + "]\nlayers: [relu]\n",
                             "fuzz.yaml:1: the number '111111111111...' is 4301 characters long, over the limit of 40"),
    "hex_int_over_4300_digits": ("input: [3, 8]\nbatch: 0x" + "f" * 3600 + "\nlayers: [relu]\n",
                                 f"fuzz.yaml:2: the number '0xffffffffff...' is {2 + 3600} characters long, "
                                 "over the limit of 40"),
    "no_layer_left": ("input: [1]\nlayers: [{relu: {repeat: 0}}]\n",
                      "fuzz.yaml:2: no layer is left once the spec is expanded (every entry repeats 0 times)"),
    # '¹' is a digit to str.isdigit() but not to int(), nor to YAML: a plain string.
    "superscript_digit": ("\u00b9\n", "fuzz.yaml:1: a spec is a mapping with at least 'input' and 'layers'"),
    "superscript_digit_in_spec": ("input: [3, 8]\nlayers: [{relu: {repeat: \u00b2}}]\n",
                                  "fuzz.yaml:2: layer 'relu1' (relu): repeat must be a whole number (0 or more), "
                                  "got '\u00b2'"),
}


@pytest.mark.parametrize("name", FOUND_BY_FUZZING)
def test_inputs_that_once_crashed_the_core_are_refused_in_one_line(name):
    text, message = FOUND_BY_FUZZING[name]
    with pytest.raises(convcalc.ConvcalcError) as caught:
        convcalc.analyze(convcalc.loads(text, "fuzz.yaml"))
    assert str(caught.value) == message


def test_text_form_with_a_4301_digit_number_is_refused():
    with pytest.raises(convcalc.ConvcalcError) as caught:
        convcalc.from_text("3x" + "1" * 4301 + " | relu")
    assert str(caught.value) == "<text>:1: the number '111111111111...' is 4301 digits long, over the limit of 40"
