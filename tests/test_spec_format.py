"""Reading specs (YAML and the one-line text form): keys, inputs, numbers as written, anchors and
merge keys, names; each construct with a worked example (they mirror docs/spec.md).

The expansion of blocks, repeats, residuals and parallels is tested in test_expand.py."""

from __future__ import annotations

import pytest

import convcalc

from .conftest import run, yaml_report, yaml_spec


def names(report: convcalc.Report) -> list[str]:
    return [layer.name for layer in report.layers]


def test_the_issue_example():
    report = yaml_report("""
        name: tiny
        input: [3, 32, 32]
        batch: 1
        dtype: float32
        layers:
          - conv: {out: 16, k: 3, p: same}
          - bn
          - relu
          - maxpool: {k: 2}
          - flatten
          - linear: {out: 10}
    """)
    assert report.name == "tiny"
    assert report.output == (1, 10)
    assert names(report) == ["conv1", "bn1", "relu1", "maxpool1", "flatten1", "linear1"]
    assert report.total.params == (16 * 27 + 16) + 2 * 16 + (16 * 16 * 16 * 10 + 10)


def test_input_as_string_and_per_axis_lists():
    spec = yaml_spec("""
        input: "3x32x48"
        layers: [{conv: {out: 4, k: [3, 5], s: [1, 2], p: [1, 2]}}]
    """)
    assert spec.input == (3, 32, 48)
    assert convcalc.analyze(spec).output == (1, 4, 32, (48 + 4 - 5) // 2 + 1)


def test_scalar_argument_sugar_and_sibling_keys():
    report = yaml_report("""
        input: [3, 8, 8]
        layers:
          - maxpool: 2
          - conv: {out: 4, k: 1}
            name: proj
          - relu: {name: act}
    """)
    assert names(report) == ["maxpool1", "proj", "act"]
    assert report.output == (1, 4, 4, 4)


def test_from_and_input():
    report = yaml_report("""
        input: [4, 8, 8]
        layers:
          - conv: {out: 4, k: 3, p: 1, name: a}
          - conv: {out: 4, k: 1, from: input, name: b}
          - add: {from: [a, b]}
          - concat: {from: [a, b, input]}
    """)
    assert report.layer("b").inputs == ("input",)
    assert report.layer("add1").inputs == ("a", "b")
    assert report.output == (1, 12, 8, 8)


def test_text_form_padding_pairs():
    assert run("1x16 | conv 2 k3 p=2:0").output == (1, 2, 16 + 2 + 0 - 3 + 1)
    assert run("1x8x8 | conv 1 k3 p=0:2x1:1").output == (1, 1, 8 + 0 + 2 - 3 + 1, 8 + 1 + 1 - 3 + 1)


def test_yaml_anchors_and_merge_keys():
    report = yaml_report("""
        input: [3, 8, 8]
        layers:
          - conv: &c3 {out: 4, k: 3, p: 1, bias: false}
          - conv: {<<: *c3, out: 8}
          - conv: *c3
    """)
    assert [layer.output[1] for layer in report.layers] == [4, 8, 4]
    assert report.layers[1].params == 8 * 4 * 9


def test_text_form_covers_keys_names_from_and_header():
    report = run("3x16x16 batch=2 dtype=float16 name=t | conv 8 k3x1 s2 p=same g1 name=a | "
                 "dwconv 3 p1 | pwconv 8 | add from=a,pwconv1 | upsample 2 mode=bilinear | gap | flatten | "
                 "dropout 0.2 | linear 4 bias=false")
    assert report.name == "t"
    assert report.input == (2, 3, 16, 16)
    assert report.dtype == "float16"
    assert report.layer("a").output == (2, 8, 8, 8)
    assert report.layer("upsample1").args["mode"] == "bilinear"
    assert report.output == (2, 4)


def test_spec_name_defaults_to_file_stem(tmp_path):
    path = tmp_path / "mynet.yaml"
    path.write_text("input: [1, 4]\nlayers: [relu]\n")
    assert convcalc.load(path).name == "mynet"
    assert convcalc.load(str(path)).source == str(path)


def test_exponent_floats_without_a_dot_are_numbers():
    # YAML 1.1 would read 1e-5 as a string; YAML 1.2 and users read a number. Quoted stays text.
    spec = yaml_spec("""
        input: [3, 8, 8]
        layers:
          - bn: {eps: 1e-5}
          - upsample: {scale: 2E0}
        """)
    assert spec.nodes[0].args["eps"] == 1 / 100_000
    assert spec.nodes[1].args["scale"] == (2.0, 2.0)
    try:
        yaml_spec("input: [3, 8, 8]\nlayers:\n  - bn: {eps: '1e-5'}\n")
    except convcalc.ConvcalcError as exc:
        assert str(exc) == "test.yaml:3: layer 'bn1' (bn): eps must be a number, got '1e-5'"
    else:
        raise AssertionError("a quoted '1e-5' is a string")


def test_exponents_without_a_sign_are_numbers_too():
    # YAML 1.1 reads 1.5e3 as a string (its exponent needs a sign); YAML 1.2 reads 1500.0.
    spec = yaml_spec("input: [3, 8]\nlayers:\n  - upsample: {scale: 1.5e1}\n")
    assert spec.nodes[0].args["scale"] == (15.0,)


def test_decimal_numbers_as_written_are_what_they_say():
    spec = yaml_spec("""
        input: [3, 8]
        layers:
          - conv: {out: +12, k: 3, p: 0}
          - upsample: {scale: 016.5}
          - dropout: .25
        """)
    assert spec.nodes[0].args["out"] == 12
    assert spec.nodes[1].args["scale"] == (16.5,)  # a leading zero before a dot is still decimal
    assert spec.nodes[2].args["p"] == 0.25


@pytest.mark.parametrize("written, message", [
    ("1:1", "'1:1' is a base-60 number in YAML 1.1 (61), not the text form's left:right: write [[1, 1]] for a "
            "[left, right] padding pair (one per axis), [1, 1] for a list, or quote it if you mean text"),
    ("0:1", "'0:1' is text in YAML, not the text form's left:right: write [[0, 1]] for a [left, right] padding "
            "pair (one per axis), [0, 1] for a list, or quote it if you mean text"),
    ("1:2:3", "'1:2:3' is a base-60 number in YAML 1.1 (3723), not the text form's left:right: write a list, "
              "[1, 2, 3], or quote it if you mean text"),
    ("1:30.5", "'1:30.5' is a base-60 number in YAML 1.1 (90.5), not the text form's left:right: write "
               "[[1, 30.5]] for a [left, right] padding pair (one per axis), [1, 30.5] for a list, or quote it "
               "if you mean text"),
    ("016", "'016' has a leading zero, which YAML 1.1 reads as octal (14); write 16, or quote it if you mean text"),
    ("-016", "'-016' has a leading zero, which YAML 1.1 reads as octal (-14); write -16, or quote it if you "
             "mean text"),
    ("00", "'00' has a leading zero, which YAML 1.1 reads as octal (0); write 0, or quote it if you mean text"),
    ("09", "'09' has a leading zero, which means octal in YAML 1.1; write 9, or quote it if you mean text"),
    ("0x10", "'0x10' is hexadecimal; write numbers in decimal: 16, or quote it if you mean text"),
    ("0b101", "'0b101' is binary; write numbers in decimal: 5, or quote it if you mean text"),
    ("0o17", "'0o17' is octal; write numbers in decimal: 15, or quote it if you mean text"),
    ("1_000", "'1_000' has a digit separator '_', which only YAML 1.1 accepts; write 1000"),
    ("2_0.5", "'2_0.5' has a digit separator '_', which only YAML 1.1 accepts; write 20.5"),
    ("!!int 016", "'016' has a leading zero, which YAML 1.1 reads as octal (14); write 16, or quote it if you "
                  "mean text"),
])
def test_numbers_yaml_1_1_would_misread_are_errors(written, message):
    # YAML 1.1 reads each of these as a number the user did not write (or as text that looks
    # like one); YAML 1.2, JSON and the text form read them differently. Never a silent surprise.
    with pytest.raises(convcalc.ConvcalcError) as caught:
        yaml_spec(f"input: [3, 8]\nlayers:\n  - conv: {{out: 4, k: 1, p: {written}}}\n")
    assert str(caught.value) == f"test.yaml:3: {message}"


def test_quoted_they_are_text():
    with pytest.raises(convcalc.ConvcalcError) as caught:
        yaml_spec("input: [3, 8]\nlayers:\n  - conv: {out: 4, k: 1, p: '1:1'}\n")
    assert str(caught.value) == ("test.yaml:3: layer 'conv1' (conv): p must be an integer, a list, or one of valid, "
                                 "same, full, got '1:1'")
    assert yaml_spec("input: [3, 8]\nname: '007'\nlayers: [relu]\n").name == "007"
