"""convcalc/spec/expand.py: the spec format's sugar expanded into a flat, named layer list:
repeat, block templates with arguments and expressions, residual and parallel, list splicing.
Each construct with a worked example (they mirror docs/spec.md)."""

from __future__ import annotations

import pytest

import convcalc

from .conftest import run, yaml_report, yaml_spec


def names(report: convcalc.Report) -> list[str]:
    return [layer.name for layer in report.layers]


def test_repeat_unnamed_and_named():
    report = run("3x8x8 | conv 3 k1 repeat=3 | relu name=r repeat=2 | identity from=r")
    assert names(report) == ["conv1", "conv2", "conv3", "r.0", "r.1", "identity1"]
    assert report.layer("r.1").inputs == ("r.0",)
    assert report.layer("identity1").inputs == ("r.1",)  # a repeated name means its last instance


def test_repeat_zero_removes_the_entry():
    # a stage template "first block, then n - 1 more" works for n = 1
    report = yaml_report("""
        input: [4, 8, 8]
        blocks:
          stage:
            args: {n: null}
            layers:
              - conv: {out: 4, k: 1, name: first}
              - relu: {repeat: "${n - 1}", name: rest}
              - identity: {from: rest}
        layers:
          - block: {use: stage, n: 1, name: s1}
          - block: {use: stage, n: 3, name: s3}
    """)
    assert names(report) == ["s1.first", "s1.identity1", "s3.first", "s3.rest.0", "s3.rest.1", "s3.identity1"]
    assert report.layer("s1.identity1").inputs == ("s1.first",)  # `rest` with no instance is its input


def test_blocks_with_arguments_expressions_and_local_names():
    report = yaml_report("""
        input: [8, 16, 16]
        blocks:
          unit:
            args: {out: null, s: 1, expand: 2}
            layers:
              - conv: {out: "${out * expand}", k: 1, name: wide}
              - conv: {out: $out, k: 3, s: $s, p: 1}
              - concat: {from: [wide, conv1]}
        layers:
          - block: {use: unit, out: 4, name: first}
          - block: {use: unit, out: 2, expand: 1}
          - block: {use: unit, out: 1, repeat: 2, name: tail}
    """)
    assert names(report)[:3] == ["first.wide", "first.conv1", "first.concat1"]
    assert report.layer("first.wide").output == (1, 4 * 2, 16, 16)
    assert report.layer("first.concat1").output == (1, 8 + 4, 16, 16)
    assert report.layer("unit1.wide").output == (1, 2 * 1, 16, 16)
    assert report.layer("tail.1.concat1").inputs == ("tail.1.wide", "tail.1.conv1")
    assert report.output == (1, 1 * 2 + 1, 16, 16)


def test_block_input_and_nested_blocks():
    report = yaml_report("""
        input: [4, 8, 8]
        blocks:
          inner:
            args: {c: null}
            layers:
              - conv: {out: $c, k: 1}
              - add: {from: [input, conv1]}
          outer: [{block: {use: inner, c: 4}}, relu]
        layers:
          - relu
          - block: {use: outer, name: o}
    """)
    assert report.layer("o.inner1.add1").inputs == ("relu1", "o.inner1.conv1")
    assert names(report)[-1] == "o.relu1"


def test_string_interpolation_and_list_arguments():
    report = yaml_report("""
        input: [4, 8, 8]
        blocks:
          b:
            args: {tag: x, extra: []}
            layers:
              - relu: {name: "act_$tag"}
              - residual: {body: [{conv: {out: 4, k: 3, p: 1}}], shortcut: $extra}
        layers:
          - block: {use: b, tag: one, extra: [{conv: {out: 4, k: 1}}]}
    """)
    assert names(report) == ["b1.act_one", "b1.conv1", "b1.conv2", "b1.add1"]


def test_residual_defaults_to_identity_shortcut():
    report = yaml_report("""
        input: [4, 8, 8]
        layers:
          - relu
          - residual:
              body: [{conv: {out: 4, k: 3, p: 1}}, bn]
              name: res
    """)
    assert names(report) == ["relu1", "conv1", "bn1", "res"]
    assert report.layer("res").inputs == ("bn1", "relu1")


def test_parallel_with_identity_branch_and_merges():
    report = yaml_report("""
        input: [4, 8, 8]
        layers:
          - parallel:
              branches: [[], [{conv: {out: 2, k: 1}}], [{maxpool: {k: 3, s: 1, p: 1}}, identity]]
          - parallel:
              branches: [[], [gap, {conv: {out: 10, k: 1}}, sigmoid]]
              merge: mul
    """)
    assert report.layer("concat1").inputs == ("input", "conv1", "identity1")
    assert report.layer("concat1").output == (1, 4 + 2 + 4, 8, 8)
    assert report.layer("mul1").output == (1, 10, 8, 8)


def test_repeated_residual_gets_instance_scopes():
    report = yaml_report("""
        input: [4, 8, 8]
        layers:
          - residual: {body: [{conv: {out: 4, k: 3, p: 1, name: c}}], repeat: 2, name: rb}
          - relu: {from: rb}
    """)
    assert names(report) == ["rb.0.c", "rb.0.add1", "rb.1.c", "rb.1.add1", "relu1"]
    assert report.layer("relu1").inputs == ("rb.1.add1",)


def test_a_list_argument_is_spliced_into_a_layer_list():
    # docs/spec.md: a `$arg` may be a list of layers; `- $lead` puts them in place, `[]` none.
    report = yaml_report("""
        input: [3, 8, 8]
        blocks:
          stage:
            args: {lead: [], tail: [relu]}
            layers:
              - $lead
              - conv: {out: 4, k: 3, name: c}
              - $tail
        layers:
          - block: {use: stage, name: plain}
          - block: {use: stage, name: led, lead: [bn, {conv: {out: 3, k: 1, name: x}}], tail: []}
          - block: {use: stage, name: from_x, lead: [{relu: {from: led.c}}]}
    """)
    assert names(report) == ["plain.c", "plain.relu1", "led.bn1", "led.x", "led.c", "from_x.relu1", "from_x.c",
                             "from_x.relu2"]
    assert report.layer("led.bn1").inputs == ("plain.relu1",)
    assert report.layer("from_x.relu1").inputs == ("led.c",)
    assert report.output == (1, 4, 8 - 2 - 2 - 2, 8 - 2 - 2 - 2)


def test_spliced_names_are_reserved_in_the_block():
    # A name a spliced layer gives is known in the whole block, so a `from:` before it says "forward".
    with pytest.raises(convcalc.ConvcalcError) as caught:
        yaml_spec("""
            input: [3, 8, 8]
            blocks:
              b:
                args: {lead: []}
                layers: [{relu: {from: early}}, $lead]
            layers:
              - block: {use: b, lead: [{relu: {name: early}}]}
        """)
    assert "'from: early' points forward to line" in str(caught.value)


def test_a_spliced_list_is_still_a_list_elsewhere():
    # In a per-axis argument a `$pair` list stays one item: [[0, 1], [0, 1]], not [0, 1, 0, 1].
    report = yaml_report("""
        input: [3, 8, 8]
        blocks:
          b:
            args: {pair: null}
            layers: [{conv: {out: 4, k: 2, p: [$pair, $pair]}}]
        layers:
          - block: {use: b, pair: [0, 1]}
    """)
    assert report.layers[0].args["p"] == ((0, 1), (0, 1))
    assert report.output == (1, 4, 8 + 1 - 2 + 1, 8 + 1 - 2 + 1)


def test_automatic_names_after_blocks_as_docs_spec_md_shows_them():
    # docs/spec.md, "Every layer also accepts": counters per scope, blocks by template and counter
    report = yaml_report("""
input: [4, 8, 8]
blocks:
  unit:
    layers: [{conv: {out: 4, k: 3, p: 1}}, relu]
layers:
  - relu
  - block: {use: unit}
  - block: {use: unit, repeat: 2}
  - relu
  - relu: {name: r}
  - residual: {body: [relu]}
  - relu
""")
    assert names(report) == ["relu1", "unit1.conv1", "unit1.relu1", "unit2.0.conv1", "unit2.0.relu1",
                             "unit2.1.conv1", "unit2.1.relu1", "relu2", "r", "relu3", "add1", "relu4"]
