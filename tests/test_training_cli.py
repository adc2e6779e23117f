

def test_every_memory_format_has_a_renderer():
    from convcalc.reporters.training import RENDERERS, MemoryFormat

    assert set(RENDERERS) == set(MemoryFormat)


def test_an_opaque_layer_refuses_training_memory_in_one_line():
    """Never a silent zero: what an imported operator convcalc cannot map keeps for the backward
    is unknown, so training memory is refused, naming the layer."""
    from click.testing import CliRunner

    from convcalc.cli import cli

    result = CliRunner().invoke(cli, ["memory", "-e", "3x8x8 | conv 4 k3 | opaque shape=5,6,6 op=mystery"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "layer 'opaque1' (opaque)" in result.stderr and "'mystery' keeps for the backward is unknown" in result.stderr
