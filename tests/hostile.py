"""Generators of small specs that once made convcalc run away (issue 11, section 2).

Each returns spec text. tests/test_limits.py feeds them to convcalc under a short subprocess
timeout; benchmarks/hostile_specs.py times them (and so shows the figures before and after a fix).
"""

from __future__ import annotations


def expression_power(levels: int = 4, digits: int = 39, power: int = 99) -> str:
    """Nested blocks, each passing `${x * x * ... * x}` (x `power` times) to the next: without a
    bound on values, level n holds a number of digits * power**n digits."""
    product = "*".join("x" for _ in range(power))  # 197 characters for 99 factors
    lines = ["input: [1, 8]", "blocks:"]
    for level in range(levels):
        lines.append(f"  b{level}:")
        lines.append("    args: {x: null}")
        if level + 1 < levels:
            lines.append(f"    layers: [{{block: {{use: b{level + 1}, x: \"${{{product}}}\"}}}}]")
        else:
            lines.append(f"    layers: [{{relu: {{name: \"n${{{product}}}\"}}}}]")
    lines.append("layers:")
    lines.append(f"  - block: {{use: b0, x: {'9' * digits}}}")
    return "\n".join(lines) + "\n"


def huge_name(digits: int = 4400) -> str:
    """A name interpolated from an expression whose value has more than 4,300 digits (Python
    refuses to turn such an int into a string): 10**22 squared 8 times has 22 * 2**8 digits."""
    squares = 8
    lines = ["input: [1, 8]", "blocks:"]
    for level in range(squares):
        lines += [f"  s{level}:", "    args: {x: null}",
                  f"    layers: [{{block: {{use: s{level + 1}, x: \"${{x * x}}\"}}}}]"]
    lines += [f"  s{squares}:", "    args: {x: null}", "    layers: [{relu: {name: \"n${x}\"}}]"]
    lines += ["layers:", f"  - block: {{use: s0, x: {10 ** (digits // 2 ** squares + 1)}}}"]
    return "\n".join(lines) + "\n"


def shared_parallel(levels: int = 30, expand: bool = False) -> str:
    """Block arguments that share `parallel` branches: level n's argument is a parallel whose two
    branches are both level n-1's argument (one object, substituted twice, never copied), so the
    tree under the innermost block has 2**levels paths. `repeat: 0` keeps the expansion itself
    empty: only a walk that visits the tree rather than the objects runs away. With `expand`, the
    parallels are kept (and unnamed), so the paths become layers, up to the layer limit."""
    keep = "" if expand else ", repeat: 0"
    lines = ["input: [1, 8]", "blocks:"]
    for level in range(levels):
        lines.append(f"  p{level}:")
        lines.append("    args: {b: null}")
        if level + 1 < levels:
            name = "" if expand else f", name: q{level}"
            lines.append(f"    layers: [{{block: {{use: p{level + 1}, b: [{{parallel: "
                         f"{{branches: [$b, $b]{keep}{name}}}}}]}}}}]")
        else:
            lines.append(f"    layers: [{{parallel: {{branches: [$b, $b]{keep}}}}}, relu]")
    lines.append("layers:")
    lines.append("  - block: {use: p0, b: [relu]}")
    return "\n".join(lines) + "\n"


def unpool_pairs(pairs: int = 50_000) -> str:
    """`pairs` maxpool/maxunpool pairs (a block used `pairs` times), each unpool naming its pool by
    `indices:`."""
    return ("input: [1, 4, 4]\nblocks:\n  pu: [{maxpool: {k: 2, name: p}}, {maxunpool: {k: 2, indices: p}}]\n"
            f"layers:\n  - block: {{use: pu, repeat: {pairs}}}\n")


def long_names_typo(layers: int = 99_990, length: int = 900) -> str:
    """`layers` relus named `N.0` ... by one repeated entry, N being `length` characters, then a
    `from:` that misspells the last of them (a letter in the middle of N changed)."""
    stem = "n" * length
    typo = stem[: length // 2] + "m" + stem[length // 2 + 1:]
    return (f"input: [1, 8]\nlayers:\n  - relu: {{name: {stem}, repeat: {layers}}}\n"
            f"  - relu: {{from: {typo}.{layers - 1}}}\n")
