r"""The YAML writer: an imported model's layers as a spec a person reads and edits.

It renders `Imported.layers` (it computes nothing about the network): layer names are the module
paths, `from:` is written only where a layer does not read the one before it, and repeated
structure is folded into `blocks:`.

Folding. Every module path (`layer1.0`) whose layers run consecutively and read exactly one value
from outside is a candidate block; its *skeleton* is its layers with their local names, kinds,
argument keys and inputs (the outside value read as `input`), without argument values. A path is
folded when its skeleton occurs at least twice in the model, outermost first: all paths with one
skeleton share one template, whose arguments are the values that differ between them (values
equal in every use stay in the template; slots equal to each other in every use share one
argument). Consecutive uses of one template with the same arguments, numbered k, k+1, ... under
one parent and each reading the previous one, become one use with `repeat:` (and `start: k`, so
the names stay the module paths). What is not folded is written flat.

Escaping. Every line is written for YAML: the header comments' text (an ONNX file's producer
name, a file name) passes through `printable.clean`, so a newline, `\r`, NEL (U+0085) or U+2028/
U+2029 in it shows as `\n`, `\x85`, `\u2028` and cannot end the comment and start a forged
`budget:` or `dtype:` line; a quoted scalar is JSON's escaping plus `printable.json_safe` (the
same line breaks and reordering characters as `\u` escapes, which YAML reads back as themselves).

The result is checked before it is returned: the text is parsed and expanded as any spec is, and
must give the whole document that was meant, not only its layers: exactly the top-level keys the
writer put there (`name`, `input`, `layers`, `blocks` when folded) with the import's name and
input, the same built spec (batch, dtype, budget, arguments: all their defaults), the imported
layers (names, kinds, arguments, inputs), and no line break but `\n`, so every comment is the
one line it was written as. If folding ever fails that, the flat list is written instead, which
is the imported document itself; if that fails too, the import is refused.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from typing import Any, NamedTuple

from ..errors import ConvcalcError
from ..layers import REGISTRY
from ..printable import clean, json_safe
from .model import Imported, Layer, shares_value

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}
MIN_USES = 2  # a skeleton folds when it occurs at least this often


def scalar(value: Any) -> str:
    """A value as YAML that reads back as itself (bools, ints, floats, words; lists in flow style)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):  # YAML's words, not Python's
            return ".nan" if value != value else (".inf" if value > 0 else "-.inf")
        text = repr(value)
        return text if any(c in text for c in ".eEn") else text + ".0"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):  # a layer's `shares: {weight: conv1}`
        return flow(list(value.items()))
    text = str(value)
    if (_PLAIN.match(text) and text.lower() not in _WORDS) or (text.startswith("$") and re.match(r"\$[A-Za-z_]\w*\Z", text)):
        return text
    return json_safe(json.dumps(text, ensure_ascii=False))


def comment(text: str) -> str:
    """`# text` as one YAML comment line, whatever `text` holds (see Escaping above)."""
    return f"# {clean(text)}"


def flow(items: list[tuple[str, Any]]) -> str:
    return "{" + ", ".join(f"{key}: {scalar(value)}" for key, value in items) + "}"


def entry_line(kind: str, name: str, args: dict[str, Any], inputs: tuple[str, ...], previous: str,
               extra: list[tuple[str, Any]] = ()) -> str:
    items: list[tuple[str, Any]] = [("name", name)]
    if inputs != (previous,):
        items.append(("from", list(inputs) if len(inputs) > 1 else inputs[0]))
    items += list(extra)
    items += list(args.items())
    return f"- {kind}: {flow(items)}"


class Group(NamedTuple):
    path: str  # module path: layer1.0
    start: int  # index of its first layer
    stop: int  # one past its last
    outside: str  # the one value it reads from outside


class Use(NamedTuple):
    group: Group
    template: str
    values: tuple[Any, ...]  # the template's argument values, in its argument order


def _skeleton(layers: list[Layer], group: Group) -> tuple[tuple, tuple]:
    """(structure, values) of a group: local names, kinds, argument keys and inputs; the values
    apart, in a fixed order."""
    prefix = group.path + "."
    structure, values = [], []
    for layer in layers[group.start: group.stop]:
        inputs = tuple(name[len(prefix):] if name.startswith(prefix) else "input" for name in layer.inputs)
        keys = tuple(layer.args)
        structure.append((layer.name[len(prefix):], layer.kind, keys, inputs))
        values.extend(_hashable(layer.args[key]) for key in keys)
    return tuple(structure), tuple(values)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _plain_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain_value(v) for v in value]
    return value


def groups(layers: list[Layer]) -> list[Group]:
    """Every module path whose layers are consecutive and read one outside value."""
    runs: dict[str, list[int]] = {}
    order: list[str] = []
    for i, layer in enumerate(layers):
        parts = layer.name.split(".")
        for depth in range(1, len(parts)):
            path = ".".join(parts[:depth])
            if path not in runs:
                runs[path] = [i, i]
                order.append(path)
            elif runs[path][1] == i - 1:
                runs[path][1] = i
            else:
                runs[path] = [-1, -1]  # not one run: never folded
    found = []
    names = {layer.name for layer in layers}
    for path in order:
        first, last = runs[path]
        if first < 0 or last - first < 1 or path in names:
            continue
        inside = {layer.name for layer in layers[first: last + 1]}
        outside = {name for layer in layers[first: last + 1] for name in layer.inputs if name not in inside}
        # a layer sharing weights names its owner, one with side inputs (maxunpool's indices:) the
        # layer it reads, by its full name: written flat, never in a template
        if len(outside) == 1 and not any(REGISTRY[layer.kind].side_inputs or layer.shares
                                         for layer in layers[first: last + 1]):
            found.append(Group(path, first, last + 1, outside.pop()))
    return found


class Template(NamedTuple):
    name: str
    structure: tuple
    args: tuple[str, ...]  # argument names
    slots: tuple[Any, ...]  # per value position: index into args, None (a constant), or (index, "*" or "/", factor)
    constants: tuple[Any, ...]  # per value position: the constant (where slots[i] is None)


def fold(imported: Imported) -> tuple[list[Template], dict[int, Use]]:
    """The templates and the uses that replace groups (keyed by each group's first layer)."""
    layers = list(imported.layers)
    candidates = groups(layers)
    skeletons = {group.path: _skeleton(layers, group) for group in candidates}
    counts = Counter(structure for structure, _ in skeletons.values())
    # A group inside another whose skeleton recurs more often is the better unit (a stage used
    # twice made of blocks used seven times folds as blocks): an outer group is chosen only when
    # no group inside it recurs more often than it does.
    count = {group.path: counts[skeletons[group.path][0]] for group in candidates}
    inner_best: dict[str, int] = defaultdict(int)
    for group in candidates:
        parts = group.path.split(".")
        for depth in range(1, len(parts)):
            outer = ".".join(parts[:depth])
            inner_best[outer] = max(inner_best[outer], count[group.path])
    chosen: list[Group] = []
    covered = -1
    for group in sorted(candidates, key=lambda g: (g.start, -(g.stop - g.start))):
        if group.start < covered:
            continue  # inside a folded group
        if count[group.path] >= MIN_USES and count[group.path] >= inner_best[group.path]:
            chosen.append(group)
            covered = group.stop
    by_structure: dict[tuple, list[Group]] = defaultdict(list)
    for group in chosen:
        by_structure[skeletons[group.path][0]].append(group)
    templates: list[Template] = []
    uses: dict[int, Use] = {}
    taken: set[str] = set()
    for structure, members in by_structure.items():
        if len(members) < MIN_USES:
            continue
        columns = list(zip(*(skeletons[g.path][1] for g in members)))  # per value position, its values per use
        slots: list[Any] = []
        args: list[str] = []
        arg_columns: list[tuple] = []
        positions = [(local, key) for local, _, keys, _ in structure for key in keys]
        for (local, key), column in zip(positions, columns):
            if len(set(column)) == 1:
                slots.append(None)
                continue
            if column in arg_columns:
                slots.append(arg_columns.index(column))
                continue
            related = _relation(column, arg_columns)
            if related is not None:
                slots.append(related)
                continue
            arg_columns.append(column)
            args.append(_arg_name(local, key, args))
            slots.append(len(args) - 1)
        constants = tuple(column[0] for column in columns)
        name = _template_name(imported, members[0].path, taken)
        template = Template(name, structure, tuple(args), tuple(slots), constants)
        templates.append(template)
        for i, group in enumerate(members):
            uses[group.start] = Use(group, name, tuple(column[i] for column in arg_columns))
    return templates, uses


def _relation(column: tuple, arg_columns: list[tuple]) -> tuple[int, str, int] | None:
    """(argument, "*" or "/", factor) when every use's value is that argument's value times (or
    divided by) one whole factor: a bottleneck's conv3 has 4 times conv1's channels in every use,
    so the template says `${conv1_out * 4}` instead of a second argument."""
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in column):
        return None
    for i, base in enumerate(arg_columns):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in base):
            continue
        if all(v % b == 0 for v, b in zip(column, base)) and len({v // b for v, b in zip(column, base)}) == 1:
            return i, "*", column[0] // base[0]
        if all(b % v == 0 for v, b in zip(column, base)) and len({b // v for v, b in zip(column, base)}) == 1:
            return i, "/", base[0] // column[0]
    return None


def _arg_name(local: str, key: str, taken: list[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", f"{local}_{key}")
    base = base if re.match(r"[A-Za-z_]", base) else f"l{base}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def _template_name(imported: Imported, path: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", dict(imported.modules).get(path, "block")).lower() or "block"
    base = base if re.match(r"[a-z_]", base) else f"b{base}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def render(imported: Imported, folded: bool = True) -> str:
    """The spec's YAML text: folded where the model repeats itself, checked against the import.
    The import itself is checked against the model first (`Imported.spec`), folded or not."""
    built = imported.spec()
    if folded:
        templates, uses = fold(imported)
        text = _render(imported, templates, uses)
        if not _differs(imported, built, text, bool(templates)):
            return text
    text = _render(imported, [], {})
    problem = _differs(imported, built, text, False)
    if problem:
        raise ConvcalcError(f"cannot write a spec that reads back as the import: {problem}", file=imported.source)
    return text


_SPEC_FIELDS = ("name", "input", "batch", "dtype", "budget", "args", "input_given", "not_counted")


def _differs(imported: Imported, built: Any, text: str, has_blocks: bool) -> str | None:
    """What in the written `text`, read back as any spec is, is not the document that was meant
    (None: nothing). The whole document: its lines, its top-level keys, every field of the spec
    it builds, and its layers."""
    from ..spec import loads, reads

    if text.splitlines() != text.split("\n")[:-1]:  # \r, NEL, U+2028 ... would end a comment early
        return "a line break other than \\n in the text"
    try:
        document = reads(text, imported.source).doc
        written = loads(text, imported.source)
    except Exception as exc:  # noqa: BLE001 - a writer bug: the caller falls back to the flat list, or refuses
        return f"it does not read back ({exc})"
    keys = ["name", "input", *(["blocks"] if has_blocks else []), "layers", *(["outputs"] if imported.outputs else [])]
    if list(document) != keys:
        return f"its top-level keys are {', '.join(map(str, document))}, not {', '.join(keys)}"
    if document["name"] != imported.name or document["input"] != list(imported.input):
        return "its name or input is not the import's"
    written = written._replace(not_counted=imported.not_run)  # what no YAML key holds: beside the spec
    for field in _SPEC_FIELDS:
        if getattr(written, field) != getattr(built, field):
            return f"its {field} is {getattr(written, field)!r}, not {getattr(built, field)!r}"
    if [(n.name, n.kind, n.args, n.inputs, n.shares) for n in written.nodes] != \
            [(n.name, n.kind, n.args, n.inputs, n.shares) for n in built.nodes]:
        return "its layers are not the import's"
    if (written.outputs, written.outputs_named) != (built.outputs, built.outputs_named):
        return "its outputs are not the import's"
    return None


def _render(imported: Imported, templates: list[Template], uses: dict[int, Use]) -> str:
    lines = [comment(line) for line in imported.origin]
    lines += [comment(note) for note in imported.notes()]
    layers = list(imported.layers)
    if uses:
        folded = sum(use.group.stop - use.group.start for use in uses.values())
        lines.append(comment(f"{folded} of {len(layers)} layers are folded into {len(uses)} uses of {len(templates)} "
                     f"block template{'s' if len(templates) != 1 else ''} (docs/import.md)"))
    lines += [f"name: {scalar(imported.name)}", f"input: {scalar(list(imported.input))}"]
    if templates:
        lines += ["", "blocks:"]
        for template in templates:
            lines.append(f"  {template.name}:")
            if template.args:
                lines.append(f"    args: {flow([(arg, None) for arg in template.args])}")
            lines.append("    layers:")
            position = 0
            previous = "input"
            for local, kind, keys, inputs in template.structure:
                args = {}
                for key in keys:
                    slot = template.slots[position]
                    if slot is None:
                        args[key] = _plain_value(template.constants[position])
                    elif isinstance(slot, tuple):
                        arg, op, factor = slot
                        args[key] = f"${{{template.args[arg]} {op} {factor}}}"
                    else:
                        args[key] = f"${template.args[slot]}"
                    position += 1
                lines.append("      " + entry_line(kind, local, args, inputs, previous))
                previous = local
    lines += ["", "layers:"]
    previous = "input"
    i = 0
    while i < len(layers):
        use = uses.get(i)
        if use is None:
            layer = layers[i]
            extra = [("shares", shares_value(layer.shares))] if layer.shares else []
            lines.append("  " + entry_line(layer.kind, layer.name, layer.args, layer.inputs, previous, extra))
            previous = layer.name
            i += 1
            continue
        run = _repeats(layers, uses, use)
        template = next(t for t in templates if t.name == use.template)
        extra: list[tuple[str, Any]] = [("use", use.template)]
        name = use.group.path
        if len(run) > 1:
            parent, _, first = name.rpartition(".")
            name = parent
            extra += [("repeat", len(run))] + ([("start", int(first))] if first != "0" else [])
        extra += [(arg, _plain_value(value)) for arg, value in zip(template.args, use.values)]
        lines.append("  " + entry_line("block", name, {}, (use.group.outside,), previous, extra))
        last = run[-1].group
        previous = layers[last.stop - 1].name
        i = last.stop
    if imported.outputs:  # a model returning several tensors: a dict's keys, or a tuple's layers
        written = ("{" + ", ".join(f"{scalar(name)}: {scalar(layer)}" for name, layer in imported.outputs) + "}"
                   if imported.outputs_named else scalar([layer for _, layer in imported.outputs]))
        lines += ["", f"outputs: {written}"]
    return "\n".join(lines) + "\n"


def _repeats(layers: list[Layer], uses: dict[int, Use], first: Use) -> list[Use]:
    """The run of uses that `repeat:` can write: one template, the same arguments, numbered k,
    k+1, ... under one parent, each reading the one before."""
    parent, _, index = first.group.path.rpartition(".")
    if not parent or not index.isdigit() or (index != "0" and index.startswith("0")):
        return [first]
    run = [first]
    while True:
        last = run[-1].group
        nxt = uses.get(last.stop)
        if (nxt is None or nxt.template != first.template or nxt.values != first.values
                or nxt.group.path != f"{parent}.{int(index) + len(run)}"
                or nxt.group.outside != layers[last.stop - 1].name):
            return run
        run.append(nxt)
