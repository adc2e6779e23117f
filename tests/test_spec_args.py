"""A spec's `args:` and the command line's --set and --input: they change the spec before it is
expanded (convcalc/spec/__init__.py `build` with `Overrides`), and every report says the input and
the arguments it was measured at."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import convcalc
from convcalc.cli import COMMANDS, cli
from convcalc.errors import SpecError
from convcalc.spec import Overrides, reads

from .conftest import yaml_spec

ROOT = Path(__file__).resolve().parent.parent

NET = textwrap.dedent("""\
    name: "net${depth}"
    args: {width: 1.0, depth: 2, act: relu}
    input: "3x${8 * depth}x16"
    blocks:
      unit:
        args: {c: null}
        layers:
          - conv: {out: "${make_divisible(c * width, 8)}", k: 3, p: 1}
          - $act
    layers:
      - conv: {out: "${32 * width}", k: 3, bias: false}
      - block: {use: unit, c: 24, repeat: "${ceil(depth * 1.1)}"}
""")


def build(text: str = NET, **sets) -> convcalc.Spec:
    return reads(text, "net.yaml").build(Overrides(sets=tuple(sets.items())))


def test_defaults_reach_the_top_level_the_blocks_the_name_and_the_input():
    spec = build()
    assert spec.name == "net2" and spec.input == (3, 16, 16)
    assert spec.args == {"width": 1.0, "depth": 2, "act": "relu"}
    assert [n.name for n in spec.nodes] == ["conv1", "unit1.0.conv1", "unit1.0.relu1", "unit1.1.conv1",
                                            "unit1.1.relu1", "unit1.2.conv1", "unit1.2.relu1"]  # ceil(2 * 1.1) = 3
    report = convcalc.analyze(spec)
    assert report.layer("conv1").params == 32 * (3 * 3 * 3)
    assert report.layer("unit1.0.conv1").params == 24 * (32 * 3 * 3) + 24


def test_set_changes_every_use():
    spec = build(width=1.25, depth=3, act="silu")
    assert spec.name == "net3" and spec.input == (3, 24, 16)
    assert spec.args == {"width": 1.25, "depth": 3, "act": "silu"}
    report = convcalc.analyze(spec)
    assert report.layer("conv1").output == (1, 40, 22, 14)  # 32 * 1.25 = 40.0, an integer
    unit = report.layer("unit1.3.conv1")  # ceil(3 * 1.1) = ceil(3.3000000000000003) = 4 units
    assert unit.output[1] == 32  # make_divisible(24 * 1.25 = 30, 8) = int(34) // 8 * 8 = 32
    assert report.layer("unit1.0.silu1").kind == "silu"


def test_the_document_is_never_changed_by_a_build():
    document = reads(NET, "net.yaml")
    wide = document.build(Overrides(sets=(("width", 2.0),)))
    again = document.build()
    assert again == build() and wide != again
    assert wide.nodes[0].args["out"] == 64


def test_a_block_argument_shadows_the_spec_argument_of_its_name():
    spec = yaml_spec("""
        args: {c: 8}
        input: [3, 8, 8]
        blocks:
          unit:
            args: {c: 4}
            layers: [{conv: {out: $c, k: 1}}]
        layers:
          - conv: {out: $c, k: 1}
          - block: {use: unit}
          - block: {use: unit, c: "${c * 2}"}
    """)
    assert [n.args["out"] for n in spec.nodes] == [8, 4, 16]


def test_a_fraction_used_as_an_integer_names_its_expression():
    with pytest.raises(SpecError) as caught:
        build(width=1.2)
    assert str(caught.value) == ("net.yaml:11: layer 'conv1' (conv): out must be an integer, got 38.4: "
                                 "'${32 * width}' is 38.4, not a whole number (round it: round, ceil, floor or "
                                 "make_divisible)")
    with pytest.raises(SpecError, match=r"repeat must be a whole number \(0 or more\), got 2.5 from '\$\{n / 2\}'"):
        yaml_spec("""
            args: {n: 5}
            input: [3, 8, 8]
            layers: [{relu: {repeat: "${n / 2}"}}]
        """)


@pytest.mark.parametrize("sets, message", [
    ({"widht": 2}, "net.yaml:2: --set widht: the spec has no argument 'widht' (did you mean 'width'?); "
                   "its args are width, depth, act"),
    ({"depth": "deep"}, "net.yaml:2: --set depth=deep: depth takes a number (its default is 2)"),
])
def test_set_mistakes(sets, message):
    with pytest.raises(SpecError) as caught:
        build(**sets)
    assert str(caught.value) == message


def test_set_on_a_spec_without_args_and_a_missing_required_argument():
    with pytest.raises(SpecError, match="^<text>: --set width: the spec has no argument 'width'; it declares no args$"):
        convcalc.from_text("3x8x8 | relu", overrides=Overrides(sets=(("width", 1),)))
    text = "args: {depth: null, width: null}\ninput: [3, 8, 8]\nlayers: [relu]\n"
    with pytest.raises(SpecError, match=r"^x.yaml:1: the spec needs --set depth=\.\.\., --set width=\.\.\. "):
        reads(text, "x.yaml").build()
    assert reads(text, "x.yaml").build(Overrides(sets=(("depth", 1), ("width", 2)))).args == {"depth": 1, "width": 2}


@pytest.mark.parametrize("args", ["[1, 2]", "{1: 2}", "{a-b: 1}"])
def test_args_must_map_names_to_defaults(args):
    with pytest.raises(SpecError, match="^x.yaml:1: 'args' must map argument names"):
        reads(f"args: {args}\ninput: [3, 8, 8]\nlayers: [relu]\n", "x.yaml").build()


def test_an_argument_may_declare_its_choices():
    text = "args: {act: {default: relu, choices: [relu, silu]}, n: 2}\ninput: [3, 8, 8]\nlayers: [$act]\n"
    assert reads(text, "x.yaml").build().args == {"act": "relu", "n": 2}
    assert reads(text, "x.yaml").build(Overrides(sets=(("act", "silu"),))).nodes[0].kind == "silu"
    with pytest.raises(SpecError, match=r"^x.yaml:1: --set act=tanh: act is one of relu, silu$"):
        reads(text, "x.yaml").build(Overrides(sets=(("act", "tanh"),)))


@pytest.mark.parametrize("declared", ["{default: gelu, choices: [relu, silu]}", "{default: relu, choices: []}",
                                      "{default: relu, choices: relu}", "{default: relu, choise: [relu]}",
                                      "{choices: [[1], 2]}"])
def test_a_bad_choices_declaration_is_refused(declared):
    with pytest.raises(SpecError, match=r"^x.yaml:1: args: act must be a default, or \{default: \.\.\., choices"):
        reads(f"args: {{act: {declared}}}\ninput: [3, 8, 8]\nlayers: [relu]\n", "x.yaml").build()


def test_an_unknown_name_at_the_top_level_lists_the_specs_args():
    with pytest.raises(SpecError, match=r"unknown spec argument '\$widht' \(did you mean 'width'\?\); "
                                        r"the spec's args are width"):
        yaml_spec("""
            args: {width: 1}
            input: [3, 8, 8]
            layers: [{conv: {out: $widht, k: 1}}]
        """)


def test_input_overrides_the_specs_input_of_the_same_rank():
    spec = convcalc.load(ROOT / "specs" / "lenet5.yaml", overrides=Overrides(input=(1, 36, 36)))
    assert spec.input == (1, 36, 36) and spec.input_given
    assert convcalc.analyze(spec).layer("c1").output == (1, 6, 32, 32)  # 36 - 5 + 1
    with pytest.raises(SpecError, match=r"lenet5.yaml:\d+: --input 1x32 has 1 spatial axis, the spec's input "
                                        r"1x32x32 has 2 spatial axes: give one of the same rank"):
        convcalc.load(ROOT / "specs" / "lenet5.yaml", overrides=Overrides(input=(1, 32)))


# ResNet-50 at 512: every feature map is 16/7 of the one at 224 on each axis (112 -> 256, 56 -> 128,
# 28 -> 64, 14 -> 32, 7 -> 16), so every conv's MACs grow by (16/7)^2 = 256/49 and the fc's
# (2048 x 1000, after global pooling) do not.
RESNET50_MACS_224 = 4_089_184_256
FC = 2048 * 1000
RESNET50_MACS_512 = (RESNET50_MACS_224 - FC) * 256 // 49 + FC


def cli_run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_shapes_input_on_resnet50_at_512():
    assert (RESNET50_MACS_224 - FC) * 256 % 49 == 0
    result = cli_run("shapes", "specs/resnet50.yaml", "--input", "3x512x512", "--format", "json")
    data = json.loads(result.stdout)
    assert data["input"] == [1, 3, 512, 512] and data["args"] == {}
    assert data["total"]["macs"] == RESNET50_MACS_512 == 21_355_249_664
    assert data["total"]["params"] == 25_557_032
    table = cli_run("shapes", "specs/resnet50.yaml", "--input", "3x512x512").stdout
    assert table.splitlines()[0] == "resnet50 (specs/resnet50.yaml), input 3x512x512"


def test_titles_and_json_say_the_arguments_and_the_input(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # titles whole
    path = tmp_path / "net.yaml"
    path.write_text(NET, encoding="utf-8")
    result = cli_run("shapes", str(path), "--set", "width=1.25", "--set", "depth=3")
    assert result.stdout.splitlines()[0] == f"net3 ({path}), width=1.25, depth=3, act=relu, input 3x24x16"
    data = json.loads(cli_run("shapes", str(path), "--set", "width=1.25", "--format", "json").stdout)
    assert data["args"] == {"width": 1.25, "depth": 2, "act": "relu"}
    markdown = cli_run("shapes", str(path), "--format", "markdown").stdout
    assert markdown.splitlines()[0] == f"### net2 ({path}), width=1.0, depth=2, act=relu, input 3x16x16"
    # a spec without args and without --input keeps its plain title
    assert cli_run("shapes", "specs/lenet5.yaml").stdout.splitlines()[0] == "lenet5 (specs/lenet5.yaml)"


@pytest.mark.parametrize("args, message", [
    (["--input", "3x0x8"], "convcalc: --input 3x0x8: input sizes must be positive, got [3, 0, 8]"),
    (["--input", "big"], "convcalc: --input big: input must be a list of integers"),
    (["--set", "width"], "convcalc: --set takes NAME=VALUE, like --set width=0.75, got 'width'"),
    (["--set", "=1"], "convcalc: --set takes NAME=VALUE, like --set width=0.75, got '=1'"),
    (["--set", "a=1", "--set", "a=2"], "convcalc: --set a is given twice"),
])
def test_option_mistakes_are_one_line(args, message):
    result = CliRunner().invoke(cli, ["shapes", "specs/lenet5.yaml", *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


@pytest.mark.parametrize("command", [name for name in COMMANDS if name != "import"])
def test_every_command_that_takes_a_spec_takes_input_and_set(command):
    options = {opt for param in cli.get_command(None, command).params for opt in param.opts}
    assert {"--input", "--set"} <= options, command


def test_import_takes_a_model_and_its_input_but_no_set():
    """`convcalc import` reads a model, not a spec: it has an input to trace at, and no `args:`."""
    options = {opt for param in cli.get_command(None, "import").params for opt in param.opts}
    assert "--input" in options and "--set" not in options


def test_check_and_compare_apply_input_and_set():
    result = cli_run("check", "lenet5", "--input", "1x36x36", "--max-macs", "417k")
    assert result.exit_code == 1  # 417 k at 32x32 passes; at 36x36 each conv output is larger
    assert "lenet5: macs" in result.stdout
    result = cli_run("compare", "lenet5", "lenet5", "--input", "1x36x36", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["a"]["input"] == [1, 1, 36, 36] and data["a"]["args"] == {}


def test_verify_applies_input(torch):
    pytest.importorskip("fvcore")
    result = cli_run("verify", "specs/lenet5.yaml", "--input", "1x36x36", "--no-fvcore", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["input"] == [1, 36, 36] and data["ok"]
    assert next(layer for layer in data["layers"] if layer["name"] == "c1")["checks"][0]["actual"] == [1, 6, 32, 32]


def test_a_kind_and_a_template_may_come_from_arguments():
    spec = yaml_spec("""
        args: {act: silu, t: 1}
        input: [4, 8, 8]
        blocks:
          unit_res0: [{conv: {out: 8, k: 1}}]
          unit_res1: [{residual: {body: [{conv: {out: 4, k: 1}}]}}]
        layers:
          - $act: {repeat: "${min(1, t - 1)}"}    # gone: t = 1
          - $act
          - block: {use: "unit_res${1 - min(1, abs(4 - 4))}", name: same}   # 4 -> 4: the shortcut
          - block: {use: "unit_res${1 - min(1, abs(4 - 8))}", name: wider}  # 4 -> 8: none
    """)
    assert [(n.name, n.kind) for n in spec.nodes] == [("silu1", "silu"), ("same.conv1", "conv"), ("same.add1", "add"),
                                                     ("wider.conv1", "conv")]
    with pytest.raises(SpecError, match=r"'\$act' as a key must give a layer kind, got 3"):
        yaml_spec("""
            args: {act: 3}
            input: [4, 8, 8]
            layers: [{$act: {repeat: 1}}]
        """)


def test_check_reports_the_input_and_args_it_measured_and_keys_baselines_by_them(tmp_path):
    """A total measured at another input or with other arguments is another baseline entry: it is
    never compared with the spec's own (a 512x512 ResNet is not a regression of the 224x224 one)."""
    costs = tmp_path / "costs.json"
    assert cli_run("check", "lenet5", "--write-baseline", str(costs)).exit_code == 0
    result = cli_run("check", "lenet5", "--input", "1x36x36", "--baseline", str(costs), "--format", "json")
    data = json.loads(result.stdout)
    spec = data["specs"][0]
    assert spec["input"] == [1, 36, 36] and spec["args"] == {}
    assert spec["key"] == "lenet5 --input 1x36x36" and spec["baseline"] == {"status": "added"}
    assert data["removed"] == ["lenet5"]  # the 32x32 entry was not checked this time
    plain = json.loads(cli_run("check", "lenet5", "--baseline", str(costs), "--format", "json").stdout)["specs"][0]
    assert plain["key"] == "lenet5" and plain["baseline"]["status"] == "compared"
