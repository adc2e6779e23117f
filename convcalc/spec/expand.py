"""From the YAML structure of a spec to its flat list of layer nodes.

This is where the spec format's sugar goes away: bare kinds and one-key mappings, `repeat`,
block templates with `$arg`/`${expr}` substitution, `residual` and `parallel`. What comes out
is a tuple of `Node`s in execution order, each with a unique dotted name, normalized arguments
and resolved inputs. Every mistake is a SpecError with the file, the line and the layer.

Naming: an unnamed layer is called after its kind with a counter per scope (`conv1`, `conv2`).
A block use opens a scope named after the use (`layer1`), so its layers are `layer1.conv1`;
`repeat: N` gives instances `name.0` ... `name.N-1`. Residual and parallel do not open a scope:
their layers are named in the enclosing one. A name that refers to a block or a repeated entry
means its output (its last layer). Inside a block, `input` is the block's input.
"""

from __future__ import annotations

import re
from typing import Any

from .. import limits
from ..args import normalize
from ..errors import LayerError, SpecError
from ..suggest import did_you_mean
from ..layers import REGISTRY
from .expr import Computed, evaluate_expression
from .model import Node
from .source import LList, LMap

CONSTRUCTS = ("block", "residual", "parallel")
META = ("name", "from", "repeat", "start", "shares")
# Patterns are compiled on first use (re caches them): compiling at import costs start-up time.
NAME = r"[A-Za-z_][A-Za-z0-9_-]*\Z"
# A layer's name may be dotted, as PyTorch's module paths are (`layer1.0.conv1`, what an imported
# model's layers are called): words of letters, digits, _ and -, joined by dots.
LAYER_NAME = r"[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*\Z"
WHOLE_VAR = r"\$([A-Za-z_][A-Za-z0-9_]*)\Z"
WHOLE_EXPR = r"\$\{([^{}]*)\}\Z"
ANY_SUB = r"\$\{([^{}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)"


class Spliced(LList):
    """The value of a whole `$arg` that stood as an item of a list, when the value is a list.

    In a layer list it is spliced into place (`- $lead` with `lead: [conv, bn]` adds two layers,
    `lead: []` none); anywhere else it is the list it holds. A list written inside a layer list
    is still an error: only an argument is spliced."""

    __slots__ = ()


class Template:
    """A `blocks:` entry: argument defaults (None = required) and its layer list."""

    __slots__ = ("name", "args", "layers", "line")

    def __init__(self, name: str, args: dict[str, Any], layers: LList, line: int) -> None:
        self.name = name
        self.args = args
        self.layers = layers
        self.line = line


class Scope:
    """Names visible in one block instance (or the top level)."""

    __slots__ = ("prefix", "names", "parent", "input", "counters", "reserved", "depth")

    def __init__(self, prefix: str, parent: "Scope | None", input_name: str, reserved: dict[str, int]) -> None:
        self.prefix = prefix
        self.names: dict[str, str] = {}  # local name -> full node name
        self.parent = parent
        self.input = input_name
        self.counters: dict[str, int] = {}
        self.reserved = reserved  # explicit names written in this scope -> line
        self.depth = 0 if parent is None else parent.depth + 1


class Expander:
    def __init__(self, source: str, nd: int, templates: dict[str, Template], args: dict[str, Any] | None = None) -> None:
        self.source = source
        self.nd = nd
        self.templates = templates
        self.args = args or {}  # the spec's `args:`, in scope everywhere (a block's own arguments shadow them)
        self.nodes: list[Node] = []
        self.kinds: dict[str, str] = {}  # node name -> its kind (what `shares:` may name)
        self.full: dict[str, str] = {}  # every full name (layers and aliases) -> node name
        self.lines: dict[str, int | None] = {}
        self.using: list[str] = []  # block templates being instantiated, outermost first
        self.work = 0  # values copied by substitution, bounded
        self.start: int | None = None  # the entry being expanded's `start:` (its first instance's number)

    # -- errors -----------------------------------------------------------------------------

    def error(self, message: str, line: int | None, layer: str | None = None, kind: str | None = None) -> SpecError:
        return SpecError(message, file=self.source, line=line, layer=layer, kind=kind)

    # -- entry points ------------------------------------------------------------------------

    def expand(self, layers: Any, line: int) -> tuple[Node, ...]:
        if not isinstance(layers, list) or not layers:
            raise self.error("'layers' must be a non-empty list of layers", line)
        if self.args:  # the spec's arguments, in the top-level layers as in a block's
            layers = self.substitute(layers, self.args, line, None)
        top = Scope("", None, "input", self.reserve(layers))
        self.expand_list(layers, top, "input")
        if not self.nodes:  # every entry had `repeat: 0`: there is no network to analyse
            raise self.error("no layer is left once the spec is expanded (every entry repeats 0 times)", line)
        return tuple(self.nodes)

    def expand_list(self, entries: Any, scope: Scope, prev: str) -> str:
        """Expand a list of layer entries chained from `prev`; return the last output's name."""
        for i, raw in enumerate(entries):
            if isinstance(raw, Spliced):
                prev = self.expand_list(raw, scope, prev)
                continue
            line = entries.lines[i] if isinstance(entries, LList) else None
            prev = self.expand_entry(raw, line, scope, prev)
        return prev

    # -- one entry ---------------------------------------------------------------------------

    def parse_entry(self, raw: Any, line: int | None) -> tuple[str, dict[str, Any], dict[str, Any], int | None]:
        """(kind, args, meta, line) of a layer entry, for any of its spellings."""
        if isinstance(raw, str):
            kind, body, meta = raw, None, {}
        elif isinstance(raw, LMap):
            kinds = [key for key in raw if key not in META]
            if len(kinds) != 1:
                what = "no kind" if not kinds else "several kinds: " + ", ".join(map(str, kinds))
                raise self.error(f"a layer is one kind with its arguments, got {what}", raw.line)
            kind = kinds[0]
            body = raw[kind]
            meta = {key: raw[key] for key in META if key in raw}
            line = raw.line
        else:
            raise self.error(f"a layer is a kind name or a mapping like 'conv: {{out: 16, k: 3}}', got {raw!r}", line)
        if not isinstance(kind, str) or (kind not in REGISTRY and kind not in CONSTRUCTS):
            known = list(REGISTRY) + list(CONSTRUCTS)
            raise self.error(f"unknown layer kind '{kind}'{did_you_mean(kind, known)}", line)
        if body is None:
            args: dict[str, Any] = {}
        elif isinstance(body, LMap):
            args = dict(body)
            for key in META:
                if key in args:
                    if key in meta:
                        raise self.error(f"'{key}' is given twice", line, kind=kind)
                    meta[key] = args.pop(key)
        elif kind in REGISTRY and REGISTRY[kind].positional:
            args = {REGISTRY[kind].positional[0]: body}  # `- maxpool: 2`
        elif kind in REGISTRY and REGISTRY[kind].merge and isinstance(body, list):
            inputs = ", ".join(map(str, body))  # `- add: [a, b]`: a merge's inputs are its `from:`
            raise self.error(f"the arguments of {kind} must be a mapping, got a list: its inputs are "
                             f"`from:`, as in '- {kind}: {{from: [{inputs}]}}'", line, kind=kind)
        else:
            raise self.error(f"the arguments of {kind} must be a mapping, got {body!r}", line, kind=kind)
        return kind, args, meta, line

    def expand_entry(self, raw: Any, line: int | None, scope: Scope, prev: str) -> str:
        kind, args, meta, line = self.parse_entry(raw, line)
        name = meta.get("name")
        if name == "input":
            raise self.error("a layer cannot be named 'input': that name means the spec's input", line, kind=kind)
        if name is not None and (not isinstance(name, str) or not re.match(LAYER_NAME, name)):
            raise self.error(f"layer name {name!r} must be a word of letters, digits, _ and -", line, kind=kind)
        base = args.get("use") if kind == "block" and isinstance(args.get("use"), str) else kind
        shown = name or self.generate(scope, base, peek=True)
        repeat = meta.get("repeat", 1)
        if type(repeat) is not int or repeat < 0:
            raise self.error(f"repeat must be a whole number (0 or more), got {repeat!r}{_whence(repeat)}",
                             line, shown, kind)
        if len(self.nodes) + repeat > limits.MAX_LAYERS:
            raise self.error(f"the spec expands to more than {limits.MAX_LAYERS} layers"
                             + (f" (repeat {repeat})" if repeat > 1 else ""), line, shown, kind)
        start = meta.get("start")
        if start is not None:
            if type(start) is not int or start < 0:
                raise self.error(f"start must be a whole number (0 or more), got {start!r}", line, shown, kind)
            if name is None or kind in ("residual", "parallel"):
                raise self.error("start numbers the instances of a named repeated layer or block "
                                 "(name: layer1, repeat: 2, start: 1 gives layer1.1 and layer1.2)", line, shown, kind)
        self.start = start
        inputs = self.inputs(meta.get("from"), scope, prev, line, shown, kind)
        if "shares" in meta and kind in CONSTRUCTS:
            raise self.error(f"shares names the layer whose weights a layer reuses; a {kind} has none of its own "
                             "(give it to each layer inside)", line, shown, kind)
        shares = self.shares(meta.get("shares"), scope, line, shown, kind) if "shares" in meta else ()
        if repeat == 0:  # the entry vanishes (`repeat: ${n - 1}` with n = 1); its name means its input
            if name:
                self.alias(scope, name, inputs[0], line)
            return inputs[0]

        if kind == "block":
            return self.expand_block(args, name, repeat, inputs, scope, line)
        if kind in ("residual", "parallel"):
            return self.expand_branches(kind, args, name, repeat, inputs, scope, line)

        record = REGISTRY[kind]
        if record.merge:
            if len(inputs) < 2:
                raise self.error(f"{kind} merges two or more layers: give them as from: [a, b]", line, shown, kind)
            if repeat != 1:
                raise self.error("repeat does not apply to a merge", line, shown, kind)
        elif len(inputs) != 1:
            raise self.error(f"{kind} takes one input, got {len(inputs)} in 'from'", line, shown, kind)
        try:
            normalized = record.prepare(normalize(record.schema, args, self.nd, kind), self.nd)
        except LayerError as exc:
            raise self.error(str(exc) + _computed(args, str(exc)), line, shown, kind) from None
        for arg in record.side_inputs:  # arguments naming another layer: resolved like `from`
            if normalized.get(arg) is not None:
                normalized[arg] = self.resolve(normalized[arg], scope, line, shown, kind)

        if repeat == 1 and start is None:
            full = self.declare(scope, name or self.generate(scope, kind), line, kind)
            self.add(full, kind, normalized, inputs, line, shares)
            return full
        out = inputs[0]
        for i in range(repeat):
            local = f"{name}.{(start or 0) + i}" if name else self.generate(scope, kind)
            full = self.declare(scope, local, line, kind)
            self.add(full, kind, normalized, (out,), line, shares)
            out = full
        if name:
            self.alias(scope, name, out, line)
        return out

    def add(self, full: str, kind: str, args: dict[str, Any], inputs: tuple[str, ...], line: int | None,
            shares: tuple[tuple[str, str], ...] = ()) -> None:
        self.nodes.append(Node(full, kind, args, inputs, line, shares))
        self.kinds[full] = kind

    def shares(self, raw: Any, scope: Scope, line: int | None, layer: str, kind: str) -> tuple[tuple[str, str], ...]:
        """`shares: conv1` (every parameter tensor and buffer of conv1) or `shares: {weight: conv1}`
        (the named tensors only: a tied weight beside a bias of its own), resolved like `from`. The
        layer it names must be an earlier one of the same kind; the analysis checks the sizes."""
        if isinstance(raw, str):
            pairs = [("*", raw)]
        elif isinstance(raw, LMap) and raw and all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            pairs = list(raw.items())
        else:
            raise self.error(f"shares takes the name of an earlier layer (shares: conv1) or its tensors "
                             f"({{weight: conv1}}), got {_shown(raw)}", line, layer, kind)
        found = []
        for tensor, ref in pairs:
            try:
                owner = self.resolve(ref, scope, line, layer, kind)
            except SpecError as exc:
                raise self.error(exc.message.replace("'from: ", "'shares: "), line, layer, kind) from None
            of = self.kinds.get(owner)
            if of is None:
                raise self.error(f"'shares: {ref}' names the spec's input, not a layer", line, layer, kind)
            if of != kind:
                raise self.error(f"'shares: {ref}' names a {of}; a layer shares the weights of a layer of its "
                                 f"own kind ({kind})", line, layer, kind)
            found.append((tensor, owner))
        return tuple(found)

    # -- names -------------------------------------------------------------------------------

    def reserve(self, entries: Any) -> dict[str, int]:
        """Explicit names written in a scope's entries (through residual and parallel bodies).

        Each list is visited once: block arguments are substituted without copying, so a list
        passed down as both branches of a parallel, level after level, is one object reached
        along 2**levels paths."""
        names: dict[str, int] = {}
        todo = [entries]
        seen: set[int] = set()
        while todo:
            items = todo.pop()
            if not isinstance(items, list) or id(items) in seen:
                continue
            seen.add(id(items))
            for item in items:
                if isinstance(item, Spliced):
                    todo.append(item)
                if not isinstance(item, LMap):
                    continue
                for key, value in item.items():
                    if key == "name" and isinstance(value, str):
                        names.setdefault(value, item.line)
                    elif isinstance(value, LMap):
                        if isinstance(value.get("name"), str):
                            names.setdefault(value["name"], item.line)
                        if key == "residual":
                            todo.extend((value.get("body"), value.get("shortcut")))
                        elif key == "parallel" and isinstance(value.get("branches"), list):
                            todo.extend(value["branches"])
        return names

    def generate(self, scope: Scope, base: str, peek: bool = False) -> str:
        """The next free `{base}{n}` in the scope (`peek`: without taking it)."""
        n = scope.counters.get(base, 0)
        while True:
            n += 1
            candidate = f"{base}{n}"
            if candidate not in scope.names and candidate not in scope.reserved:
                if not peek:
                    scope.counters[base] = n
                return candidate

    def declare(self, scope: Scope, local: str, line: int | None, kind: str) -> str:
        full = scope.prefix + local
        if local in scope.names or full in self.full:
            first = self.lines.get(full)
            raise self.error(f"duplicate layer name '{local}'" + (f" (first on line {first})" if first else ""),
                             line, local, kind)
        scope.names[local] = full
        self.full[full] = full
        self.lines[full] = line
        return full

    def alias(self, scope: Scope, local: str, target: str, line: int | None) -> None:
        full = scope.prefix + local
        if local in scope.names or full in self.full:
            raise self.error(f"duplicate layer name '{local}'", line, local)
        scope.names[local] = target
        self.full[full] = target
        self.lines[full] = line

    def inputs(self, ref: Any, scope: Scope, prev: str, line: int | None, layer: str, kind: str) -> tuple[str, ...]:
        if ref is None:
            return (prev,)
        refs = ref if isinstance(ref, list) else [ref]
        if not refs:
            raise self.error("'from' is an empty list", line, layer, kind)
        return tuple(self.resolve(r, scope, line, layer, kind) for r in refs)

    def resolve(self, ref: Any, scope: Scope, line: int | None, layer: str, kind: str) -> str:
        if not isinstance(ref, str):
            raise self.error(f"'from' takes layer names, got {ref!r}", line, layer, kind)
        if ref == "input":
            return scope.input
        s: Scope | None = scope
        while s is not None:
            if ref in s.names:
                return s.names[ref]
            s = s.parent
        if ref in self.full:
            return self.full[ref]
        s = scope
        while s is not None:
            if ref in s.reserved:
                if ref == layer and s.reserved[ref] == line:
                    raise self.error(f"'from: {ref}' points at the layer itself", line, layer, kind)
                raise self.error(f"'from: {ref}' points forward to line {s.reserved[ref]}; "
                                 "a layer can only take earlier layers", line, layer, kind)
            s = s.parent
        visible = set(self.full)
        s = scope
        while s is not None:
            visible.update(s.names)
            s = s.parent
        raise self.error(f"'from: {ref}' names no earlier layer{did_you_mean(ref, visible)}", line, layer, kind)

    # -- blocks ------------------------------------------------------------------------------

    def expand_block(self, args: dict[str, Any], name: str | None, repeat: int, inputs: tuple[str, ...],
                     scope: Scope, line: int | None) -> str:
        use = args.pop("use", None)
        inline = args.pop("inline", False)  # its layers named in this scope, without the use's prefix
        if inline not in (True, False) or inline and (name is not None or repeat != 1):
            raise self.error("'inline' is true or false, and an inline block takes no name or repeat", line, name, "block")
        if not isinstance(use, str):
            raise self.error("block needs 'use: <template name>'", line, name, "block")
        if use not in self.templates:
            raise self.error(f"no block template named '{use}'{did_you_mean(use, self.templates)}", line, name, "block")
        if len(inputs) != 1:
            raise self.error(f"a block takes one input, got {len(inputs)} in 'from'", line, name, "block")
        template = self.templates[use]
        if use in self.using:
            chain = " -> ".join(self.using[self.using.index(use):] + [use])
            raise self.error(f"block '{use}' uses itself: {chain}", line, name, "block")
        if scope.depth + 1 > limits.MAX_NESTING:
            raise self.error(f"blocks are nested deeper than the limit of {limits.MAX_NESTING}", line, name, "block")
        values = {**self.args, **template.args}
        for key, value in args.items():
            if key not in template.args:
                takes = ", ".join(template.args) or "no arguments"
                raise self.error(f"unknown argument '{key}' for block '{use}'{did_you_mean(key, template.args)}; "
                                 f"it takes {takes}", line, name, "block")
            values[key] = value
        missing = [key for key in template.args if values[key] is None]
        if missing:
            raise self.error(f"block '{use}' needs {', '.join(missing)}", line, name, "block")
        block_name = name or self.generate(scope, use)
        start, self.start = self.start, None
        out = inputs[0]
        self.using.append(use)
        for i in range(repeat):
            instance = block_name if repeat == 1 and start is None else f"{block_name}.{(start or 0) + i}"
            layers = self.substitute(template.layers, values, template.line, scope.prefix + instance)
            inner = Scope(scope.prefix + ("" if inline else instance + "."), scope, out, self.reserve(layers))
            out = self.expand_list(layers, inner, out)
            if not inline:
                self.alias(scope, instance, out, line)
        self.using.pop()
        if repeat > 1 or start is not None:
            self.alias(scope, block_name, out, line)
        return out

    def substitute(self, value: Any, values: dict[str, Any], line: int | None, block: str | None) -> Any:
        """A copy of a template's layers with `$name` and `${expr}` replaced (`block` names the
        use, for error messages; None: the spec's top level, with the spec's arguments)."""
        self.work += 1
        if self.work > limits.MAX_YAML_NODES * 4:
            raise self.error("block templates expand to too many values", line, block, "block")
        if isinstance(value, str):
            return self.interpolate(value, values, line, block) if "$" in value else value
        if isinstance(value, LMap):
            copy = LMap(value.line)
            copy.lines = value.lines
            for key, item in value.items():
                at = value.lines.get(key, value.line)
                if isinstance(key, str) and re.match(WHOLE_VAR, key):  # a kind from an argument: `- $act: {repeat: 0}`
                    kind = self.interpolate(key, values, at, block)
                    if not isinstance(kind, str) or kind in copy:
                        raise self.error(f"'{key}' as a key must give a layer kind, got {kind!r}", at, block,
                                         "block" if block else None)
                    copy.lines = {**copy.lines, kind: at}
                    key = kind
                copy[key] = self.substitute(item, values, at, block)
            return copy
        if isinstance(value, LList):
            copy_list = LList(value.line)
            copy_list.lines = value.lines
            for i, item in enumerate(value):
                new = self.substitute(item, values, value.lines[i], block)
                if isinstance(new, list) and isinstance(item, str) and re.match(WHOLE_VAR, item):
                    new = self.spliced(new, value.lines[i])
                copy_list.append(new)
            return copy_list
        return value

    def spliced(self, items: list[Any], line: int | None) -> Spliced:
        self.work += len(items)
        out = Spliced(getattr(items, "line", line))
        out.extend(items)
        out.lines = list(getattr(items, "lines", [line] * len(items)))
        return out

    def interpolate(self, text: str, values: dict[str, Any], line: int | None, block: str | None) -> Any:
        try:
            match = re.match(WHOLE_VAR, text)
            if match:
                return self.lookup(match.group(1), values, block)
            match = re.match(WHOLE_EXPR, text)
            if match:
                return evaluate_expression(match.group(1), values)

            def one(m: re.Match[str]) -> str:
                return str(evaluate_expression(m.group(1), values) if m.group(1) is not None
                           else self.lookup(m.group(2), values, block))

            return re.sub(ANY_SUB, one, text)
        except LayerError as exc:
            raise self.error(str(exc), line, block, "block" if block else None) from None

    @staticmethod
    def lookup(name: str, values: dict[str, Any], block: str | None = "") -> Any:
        if name not in values:
            takes = ", ".join(values) or "no arguments"
            what, who = ("block", "the block takes") if block is not None else ("spec", "the spec's args are")
            raise LayerError(f"unknown {what} argument '${name}'{did_you_mean(name, values)}; {who} {takes}")
        return values[name]

    # -- residual and parallel ----------------------------------------------------------------

    def expand_branches(self, kind: str, args: dict[str, Any], name: str | None, repeat: int,
                        inputs: tuple[str, ...], scope: Scope, line: int | None) -> str:
        allowed = ("body", "shortcut") if kind == "residual" else ("branches", "merge", "crop")
        for key in args:
            if key not in allowed:
                raise self.error(f"unknown key '{key}' for {kind}{did_you_mean(key, allowed)}; "
                                 f"{kind} takes: {', '.join(allowed)}", line, name, kind)
        if len(inputs) != 1:
            raise self.error(f"{kind} takes one input, got {len(inputs)} in 'from'", line, name, kind)
        if kind == "residual":
            if "body" not in args:
                raise self.error("residual needs 'body: [layers]'", line, name, kind)
            branches = [args["body"], args.get("shortcut") or []]
            merge, merge_args = "add", {}
        else:
            branches = args.get("branches")
            if not isinstance(branches, list) or len(branches) < 2:
                raise self.error("parallel needs 'branches: [[layers], [layers], ...]' with two or more", line, name, kind)
            merge = args.get("merge", "concat")
            if merge not in ("concat", "add", "mul"):
                raise self.error(f"merge must be concat, add or mul, got {merge!r}", line, name, kind)
            merge_args = {"crop": args["crop"]} if "crop" in args else {}
        for branch in branches:
            if not isinstance(branch, list):
                raise self.error(f"each {kind} branch is a list of layers, got {branch!r}", line, name, kind)
        try:
            record = REGISTRY[merge]
            normalized = record.prepare(normalize(record.schema, merge_args, self.nd, merge), self.nd)
        except LayerError as exc:
            raise self.error(str(exc), line, name, kind) from None

        out = inputs[0]
        group = (name or self.generate(scope, kind)) if repeat > 1 else None
        for i in range(repeat):
            inner = scope
            if repeat > 1:
                inner = Scope(f"{scope.prefix}{group}.{i}.", scope, out, self.reserve(branches))
            ends = tuple(self.expand_list(branch, inner, out) for branch in branches)
            local = name if (name and repeat == 1) else self.generate(inner, merge)
            full = self.declare(inner, local, line, merge)
            self.add(full, merge, normalized, ends, line)
            if repeat > 1:
                self.alias(scope, f"{group}.{i}", full, line)
            out = full
        if repeat > 1:
            self.alias(scope, group, out, line)
        return out


def _shown(value: Any) -> str:
    text = repr(dict(value) if isinstance(value, LMap) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _whence(value: Any) -> str:
    """' from '${expr}'' when `value` came from an expression that is not whole."""
    return f" from '${{{value.text}}}'" if isinstance(value, Computed) else ""


def _computed(args: dict[str, Any], message: str) -> str:
    """The note for a layer argument that needed an integer and got an expression's fraction:
    which expression, and the functions that round it."""
    for key, value in args.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, Computed) and message.startswith(f"{key} "):
                return (f": '${{{item.text}}}' is {float(item)!r}, not a whole number (round it: round, ceil, floor "
                        "or make_divisible)")
    return ""


def templates(raw: Any, source: str, line: int | None) -> dict[str, Template]:
    """Parse the top-level `blocks:` mapping and refuse templates that use each other in a cycle."""
    if raw is None:
        return {}
    if not isinstance(raw, LMap):
        raise SpecError("'blocks' must map template names to {args, layers}", file=source, line=line)
    out: dict[str, Template] = {}
    for name, body in raw.items():
        at = raw.lines.get(name, raw.line)
        if not isinstance(name, str) or not re.match(NAME, name):
            raise SpecError(f"block name {name!r} must be a word", file=source, line=at)
        if isinstance(body, LList):
            out[name] = Template(name, {}, body, at)
            continue
        if not isinstance(body, LMap):
            raise SpecError(f"block '{name}' must be a mapping with args and layers, or a list of layers",
                            file=source, line=at)
        for key in body:
            if key not in ("args", "layers", "doc"):
                raise SpecError(f"unknown key '{key}' in block '{name}'{did_you_mean(key, ('args', 'layers'))}",
                                file=source, line=body.lines.get(key, at))
        args = body.get("args") or {}
        if not isinstance(args, dict) or not all(isinstance(k, str) and re.match(NAME, k) for k in args):
            raise SpecError(f"'args' of block '{name}' must map argument names to defaults (null: required)",
                            file=source, line=at)
        layers = body.get("layers")
        if not isinstance(layers, LList) or not layers:
            raise SpecError(f"block '{name}' needs a non-empty 'layers' list", file=source, line=at)
        out[name] = Template(name, dict(args), layers, at)
    _refuse_cycles(out, source)
    return out


def _uses(value: Any) -> list[str]:
    """Template names a layer list uses literally (`block: {use: name}`), in order."""
    found: list[str] = []
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, LMap):
            block = item.get("block")
            if isinstance(block, LMap) and isinstance(block.get("use"), str) and "$" not in block["use"]:
                found.append(block["use"])
            todo.extend(item.values())
        elif isinstance(item, LList):
            todo.extend(item)
    return found


def _refuse_cycles(found: dict[str, Template], source: str) -> None:
    graph = {name: [u for u in _uses(t.layers) if u in found] for name, t in found.items()}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in graph:
        if state.get(start):
            continue
        path = [start]
        iters = [iter(graph[start])]
        state[start] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
                continue
            if state.get(nxt) == 1:
                chain = " -> ".join(path[path.index(nxt):] + [nxt])
                raise SpecError(f"block '{nxt}' uses itself: {chain}", file=source, line=found[nxt].line)
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(graph[nxt]))
