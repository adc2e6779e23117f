"""convcalc/graph.py: the one walk over a spec's layers, with side inputs as edges and the values
each step reads for the last time."""

from __future__ import annotations

import convcalc
from convcalc.graph import plan, walk


def steps(text):
    return {step.node.name: step for step in plan(convcalc.from_text(text).nodes)}


def test_a_chain_releases_each_input_at_its_reader():
    s = steps("3x8x8 | conv 4 k3 | relu | conv 2 k1")
    assert s["conv1"].releases == ("input",)
    assert s["relu1"].releases == ("conv1",)
    assert s["conv2"].releases == ("relu1",)  # the output itself is never released


def test_a_skip_lives_until_the_merge():
    s = steps("3x8x8 | conv 3 k3 p1 name=a | relu | conv 3 k3 p1 | add from=a,conv1")
    assert "a" not in s["relu1"].releases and "a" not in s["conv1"].releases
    assert set(s["add1"].releases) == {"a", "conv1"}


def test_an_unread_value_dies_where_it_is_made():
    s = steps("3x8x8 | conv 4 k3 name=dead | conv 2 k3 from=input")
    assert s["dead"].releases == ("dead",)


def test_maxunpool_indices_are_a_side_edge():
    s = steps("3x8x8 | maxpool 2 name=p | relu | maxunpool 2 indices=p")
    unpool = s["maxunpool1"]
    assert unpool.side == (("indices", "p"),)
    assert unpool.reads == ("relu1", "p")
    assert "p" not in s["relu1"].releases and set(unpool.releases) == {"relu1", "p"}


def test_walk_gathers_merge_inputs_as_a_tuple():
    spec = convcalc.from_text("3x8x8 | conv 3 k1 name=a | conv 3 k1 from=input name=b | concat from=a,b,input")
    values = {"input": "x"}
    seen = {}
    for step, inputs in walk(spec.nodes, values):
        seen[step.node.name] = inputs
        values[step.node.name] = step.node.name.upper()
    assert seen == {"a": "x", "b": "x", "concat1": ("A", "B", "x")}
