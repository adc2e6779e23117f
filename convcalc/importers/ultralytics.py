"""ultralytics' model YAML (yolov8.yaml, yolo11.yaml: `nc`, `scales`, `backbone`, `head`) read
natively, without ultralytics or torch: a front end like the importers, ending in the layer
document a convcalc YAML spec parses to, so it goes through `spec.build` and everything after it
(shapes, memory, verify, check...) knows nothing of where it came from.

The format is a list of rows `[from, repeats, module, args]`. The rules below follow what
ultralytics' `parse_model` does with a row (the 8.3 line of ultralytics, YOLOv8 and YOLO11), as
its documentation and its modules' behaviour describe; no code of ultralytics is copied:

- the scale: `--set scale=s`, else a `scale:` key, else the letter after the version in the file
  name (`yolov8n.yaml`, `yolo11s.yaml` -> n, s), else the first row of `scales:`, each row
  `[depth, width, max_channels]`;
- a module's output channels c2 = make_divisible(min(c2, max_channels) * width, 8) (the next
  multiple of 8 up), except where c2 equals `nc` (a classifier's output);
- repeats n = max(round(n * depth), 1) when n > 1 (Python's round, halves to even); C2f, C3 and
  C3k2 take n as their inner repeat, every other module is repeated n times in sequence;
- C3k2 anywhere in the file makes the Detect head's class branch the depthwise one (YOLO11),
  and at scales m, l and x turns C3k2's c3k on.

Each module becomes convcalc layers named by ultralytics' module paths (`model.2.cv1.conv`), so a
row's cost can be read beside ultralytics' own printout; `Detect` ends in two outputs, `boxes`
(the DFL's distances, 4 per anchor) and `scores` (the class sigmoids), as its eval-mode forward
computes them before the anchor decode (docs/detect.md says what is and is not counted).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import SpecError
from ..graph import walk
from ..suggest import did_you_mean
from ..spec import Document, Overrides, Spec, build, spec_args
from ..sources import is_ultralytics
from ..spec.source import LList, LMap

__all__ = ["MAPPED", "UltralyticsDocument", "convert", "is_ultralytics"]

# The modules this front end maps, and ultralytics' other module names (refused by name, never
# counted as zero): YOLOv3u to YOLO12's detection, segmentation, pose, OBB and classify files.
MAPPED = ("Conv", "Concat", "nn.Upsample", "SPPF", "SPP", "C2f", "C3", "C3k2", "C2PSA", "Bottleneck", "Detect",
          "Classify")
NOT_YET = ("A2C2f", "PSA", "C2fPSA", "C2fAttn", "C2fCIB", "C3k", "C3x", "C3TR", "C3Ghost", "C1", "C2",
           "RepC3", "RepNCSPELAN4", "ELAN1", "ADown", "AConv", "SPPELAN", "SCDown", "CBLinear", "CBFuse",
           "BottleneckCSP", "GhostConv", "GhostBottleneck", "DWConv", "Focus", "Conv2", "ConvTranspose",
           "DWConvTranspose2d", "RepConv", "HGStem", "HGBlock", "ResNetLayer", "AIFI", "RTDETRDecoder",
           "Segment", "Pose", "OBB", "v10Detect", "WorldDetect", "ImagePoolingAttn", "TorchVision", "Index",
           "nn.BatchNorm2d", "nn.Identity", "nn.ConvTranspose2d", "DFL", "Proto")
TOP = ("nc", "scales", "scale", "depth_multiple", "width_multiple", "activation", "ch", "channels", "backbone",
       "head", "reg_max", "end2end", "kpt_shape")
SCALE = re.compile(r"yolo(?:e-)?v?\d+([nslmx])")  # the scale letter after the version in a file's stem
IMAGE = 640  # ultralytics' default image size (imgsz), the input when --input is not given
ACTIVATIONS = {"nn.SiLU()": "silu", "nn.ReLU()": "relu", "nn.ReLU6()": "relu6", "nn.Hardswish()": "hardswish",
               "nn.Sigmoid()": "sigmoid", "nn.Tanh()": "tanh", "nn.Mish()": "mish", "nn.GELU()": "gelu"}
REG_MAX = 16  # the Detect head's DFL bins per box side (Detect's reg_max)
CLASSIFY_HIDDEN = 1280  # Classify's hidden channels (c_ = 1280)


class UltralyticsDocument(Document):
    """A parsed ultralytics YAML, built per set of overrides (`--set scale=s`, `--input`) as a
    spec document is."""

    def build(self, overrides: Overrides | None = None) -> Spec:
        return convert(self.doc, self.source, self.default_name, overrides)


def scale_of(path: str) -> str:
    """The scale letter ultralytics reads from a file name (`yolov8n.yaml` -> 'n'), or ''."""
    found = SCALE.search(os.path.splitext(os.path.basename(path))[0])
    return found.group(1) if found else ""


def unified(path: str) -> str | None:
    """`yolov8n.yaml` -> `yolov8.yaml` beside it (the file ultralytics reads for every scale), or
    None when the name has no scale letter."""
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    general = re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", stem)
    return os.path.join(folder, general + ext) if general != stem else None


def convert(doc: LMap, source: str, name: str, overrides: Overrides | None) -> Spec:
    """The ultralytics YAML `doc` -> a validated Spec, at the overrides' scale, nc and input."""
    lines = dict(doc.lines)
    for key in doc:
        if key not in TOP:
            raise SpecError(f"unknown top-level key '{key}' in an ultralytics model YAML{did_you_mean(key, TOP)}; "
                            f"convcalc reads: {', '.join(TOP)}", file=source, line=lines.get(key))
    if doc.get("end2end"):
        raise SpecError("end2end: true (the one-to-one head beside the one-to-many) is not mapped yet",
                        file=source, line=lines.get("end2end"))
    if "kpt_shape" in doc:
        raise SpecError("kpt_shape is for the Pose head, which convcalc does not map yet", file=source,
                        line=lines.get("kpt_shape"))
    scales = doc.get("scales")
    nc = doc.get("nc", 80)
    if type(nc) is not int or nc < 1:
        raise SpecError(f"nc must be a positive integer (the classes), got {nc!r}", file=source, line=lines.get("nc"))
    declared = LMap(doc.line)
    declared.lines = {}
    if scales is not None:
        if not isinstance(scales, LMap) or not scales or not all(_row(v) for v in scales.values()):
            raise SpecError("scales must map scale letters to [depth, width, max_channels], like n: [0.33, 0.25, 1024]",
                            file=source, line=lines.get("scales"))
        picked = doc.get("scale") or scale_of(name) or next(iter(scales))
        if picked not in scales and not any(k == "scale" for k, _ in (overrides.sets if overrides else ())):
            where = "the scale: key" if doc.get("scale") else f"the file name's letter '{picked}'"
            raise SpecError(f"scale '{picked}' ({where}) is not a row of scales: {', '.join(map(str, scales))}",
                            file=source, line=lines.get("scale", lines.get("scales")))
        choices = LList(doc.line)
        choices.extend(scales)
        row = LMap(doc.line)
        row["default"], row["choices"] = picked if picked in scales else next(iter(scales)), choices
        declared["scale"] = row
    declared["nc"] = nc
    values = spec_args(declared, source, lines.get("scales", lines.get("nc")), overrides.sets if overrides else ())
    nc = values["nc"]
    if type(nc) is not int or nc < 1:
        raise SpecError(f"--set nc={nc}: nc is a positive integer", file=source, line=lines.get("nc"))
    if scales is not None:
        depth, width, max_channels = scales[values["scale"]]
    else:
        depth, width, max_channels = doc.get("depth_multiple", 1.0), doc.get("width_multiple", 1.0), math.inf
        if not _row([depth, width, 1]):
            raise SpecError(f"depth_multiple and width_multiple must be positive numbers, got {depth!r} and {width!r}",
                            file=source, line=lines.get("depth_multiple", lines.get("width_multiple")))
    ch = doc.get("ch", doc.get("channels", 3))
    if type(ch) is not int or ch < 1:
        raise SpecError(f"ch must be a positive integer (the input's channels), got {ch!r}", file=source,
                        line=lines.get("ch", lines.get("channels")))
    act = doc.get("activation")
    if act is not None and act not in ACTIVATIONS:
        raise SpecError(f"activation {act!r} is not one convcalc maps; it maps: {', '.join(ACTIVATIONS)}",
                        file=source, line=lines.get("activation"))
    reg_max = doc.get("reg_max", REG_MAX)
    if type(reg_max) is not int or reg_max < 1:
        raise SpecError(f"reg_max must be a positive integer, got {reg_max!r}", file=source, line=lines.get("reg_max"))
    rows = _rows(doc, source)
    writer = Writer(source, nc, depth, width, max_channels, ch, ACTIVATIONS[act] if act else "silu", reg_max, rows)
    writer.scale_letter = values.get("scale", "")

    def document(layers: LList, outputs: list[tuple[str, str]]) -> LMap:
        spec_doc = LMap(doc.line)
        for key, value, line in (("name", name, doc.line), ("input", [ch, IMAGE, IMAGE], doc.line),
                                 ("args", declared, doc.line), ("layers", layers, doc.line)):
            spec_doc[key] = value
            spec_doc.lines[key] = line
        if outputs:
            named = LMap(doc.line)
            for key, layer in outputs:
                named[key] = layer
                named.lines[key] = writer.outputs_line
            spec_doc["outputs"] = named
            spec_doc.lines["outputs"] = writer.outputs_line
        return spec_doc

    def measure(layer: str) -> tuple[int, ...]:
        """The per-sample shape of a layer written so far: the layers up to it built as a spec
        (the truth of every shape is spec.build and the kinds', never a second copy here)."""
        part = LList(writer.layers.line)
        part.extend(writer.layers)
        part.lines.extend(writer.layers.lines)
        spec = build(document(part, []), source, name, overrides)
        return _shapes(spec)[layer]

    writer.measure = measure
    writer.write()
    shape = overrides.input if overrides and overrides.input is not None else (ch, IMAGE, IMAGE)
    writer.check_stride(shape, doc.line)
    return build(document(writer.layers, writer.outputs), source, name, overrides)


def _shapes(spec: Spec) -> dict[str, tuple[int, ...]]:
    """Every layer's per-sample output shape, by the registry's shape rules."""
    values: dict[str, Any] = {"input": spec.input}
    for step, x in walk(spec.nodes, values):
        values[step.node.name] = step.record.shape(step.node.args, x)
    return values


def _row(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 3 and all(type(v) in (int, float) for v in value)
            and value[0] > 0 and value[1] > 0 and value[2] >= 1)


class Row:
    """One `[from, repeats, module, args]` row, with its index and line."""

    def __init__(self, index: int, line: int, raw: Any, source: str) -> None:
        self.index, self.line = index, line
        if not isinstance(raw, list) or len(raw) != 4 or not isinstance(raw[2], str) or not isinstance(raw[3], list):
            raise SpecError(f"layer {index}: a row is [from, repeats, module, args], like [-1, 1, Conv, [64, 3, 2]]",
                            file=source, line=line)
        self.source, self.module, self.args = raw[0], raw[2], list(raw[3])
        self.repeats = raw[1]
        if type(self.repeats) is not int or self.repeats < 1:
            raise SpecError(f"layer {index} ({self.module}): repeats must be a positive integer, got {self.repeats!r}",
                            file=source, line=line)


def _rows(doc: LMap, source: str) -> list[Row]:
    rows: list[Row] = []
    for part in ("backbone", "head"):
        items = doc[part]
        if not isinstance(items, LList):
            raise SpecError(f"{part} must be a list of [from, repeats, module, args] rows", file=source,
                            line=doc.lines.get(part))
        for i, raw in enumerate(items):
            rows.append(Row(len(rows), items.lines[i] if i < len(items.lines) else items.line, raw, source))
    if not rows:
        raise SpecError("the model has no rows in backbone or head", file=source, line=doc.line)
    unmapped = [row for row in rows if row.module not in MAPPED]
    if unmapped:
        first = unmapped[0]
        known = [r for r in unmapped if r.module in NOT_YET]
        unknown = [r for r in unmapped if r.module not in NOT_YET]
        parts = []
        if unknown:
            parts.append("unknown module" + ("s " if len(unknown) > 1 else " ")
                         + ", ".join(f"{r.module!r} (layer {r.index}, line {r.line})"
                                     f"{did_you_mean(r.module, MAPPED + NOT_YET)}" for r in unknown))
        if known:
            parts.append("not mapped yet: " + ", ".join(f"{r.module} (layer {r.index}, line {r.line})" for r in known))
        raise SpecError("; ".join(parts) + f"; convcalc maps {', '.join(MAPPED)}", file=source, line=first.line)
    return rows


def make_divisible(x: float, divisor: int = 8) -> int:
    """The multiple of `divisor` at or above x: ultralytics' channel rounding (not torchvision's
    make_divisible, which rounds to the nearest)."""
    return math.ceil(x / divisor) * divisor


def autopad(k: int, d: int = 1) -> int:
    """'same' padding for an odd kernel at stride 1: k // 2 of the dilated kernel."""
    return (d * (k - 1) + 1) // 2


def _entry(kind: str, line: int, args: dict[str, Any]) -> LMap:
    """One convcalc layer `{kind: {args}}`, every key on the ultralytics row's line."""
    raw = LMap(line)
    for key, value in args.items():
        if isinstance(value, (list, tuple)):
            items = LList(line)
            items.extend(value)
            items.lines.extend([line] * len(value))
            value = items
        raw[key] = value
        raw.lines[key] = line
    entry = LMap(line)
    entry[kind] = raw
    entry.lines[kind] = line
    return entry


class Writer:
    """Writes each row's convcalc layers, tracking what parse_model tracks: each row's output
    channels (and here its output's layer name and its stride)."""

    def __init__(self, source: str, nc: int, depth: float, width: float, max_channels: float, ch: int, act: str,
                 reg_max: int, rows: list[Row]) -> None:
        self.file, self.nc, self.depth, self.width, self.max_channels = source, nc, depth, width, max_channels
        self.act, self.reg_max, self.rows = act, reg_max, rows
        self.layers = LList(rows[0].line)
        self.channels: list[int] = []  # per row, its output channels
        self.names: list[str] = []  # per row, the layer that is its output
        self.strides: list[float] = []  # per row, its output's stride
        self.input = (ch, "input", 1.0)
        self.legacy = not any(row.module == "C3k2" for row in rows)  # YOLO11's head: see the module's docstring
        self.outputs: list[tuple[str, str]] = []
        self.outputs_line = rows[-1].line
        self.line = rows[0].line
        self.row: Row = rows[0]
        self.measure: Callable[[str], tuple[int, ...]] = lambda layer: ()

    # ---- what every module is made of

    def add(self, kind: str, name: str, src: str | list[str] | None = None, **args: Any) -> str:
        args = {key: value for key, value in args.items() if value is not None}
        args["name"] = name
        if src is not None:
            args["from"] = src
        self.layers.append(_entry(kind, self.line, args))
        self.layers.lines.append(self.line)
        return name

    def conv(self, name: str, src: str, c1: int, c2: int, k: int = 1, s: int = 1, g: int = 1, d: int = 1,
             act: bool = True) -> str:
        """ultralytics' Conv: Conv2d without bias (padding k // 2 of the dilated kernel), BN, activation."""
        for what, value in (("k", k), ("s", s), ("g", g), ("d", d)):
            if type(value) is not int or value < 1:
                self.fail(f"{what} must be a positive integer, got {value!r}")
        self.add("conv", f"{name}.conv", src, out=c2, k=k, s=s, p=autopad(k, d), d=d if d > 1 else None,
                 groups=g if g > 1 else None, bias=False)
        out = self.add("bn", f"{name}.bn", eps=0.001, momentum=0.03)  # initialize_weights' BN settings
        return self.add(self.act, f"{name}.act") if act else out

    def bottleneck(self, name: str, src: str, c1: int, c2: int, shortcut: bool = True, g: int = 1,
                   k: tuple[int, int] = (3, 3), e: float = 0.5) -> str:
        if not isinstance(k, tuple) or len(k) != 2 or type(e) not in (int, float) or not e > 0:
            self.fail(f"a Bottleneck's k is two kernel sizes and e a positive ratio, got k {k!r}, e {e!r}")
        hidden = int(c2 * e)
        y = self.conv(f"{name}.cv1", src, c1, hidden, k[0])
        y = self.conv(f"{name}.cv2", y, hidden, c2, k[1], g=g)
        return self.add("add", f"{name}.add", [src, y]) if shortcut and c1 == c2 else y

    def c3(self, name: str, src: str, c1: int, c2: int, n: int = 1, shortcut: bool = True, g: int = 1,
           e: float = 0.5, k: tuple[int, int] = (1, 3)) -> str:
        """C3 (and C3k, with k = (3, 3)): cat(m(cv1(x)), cv2(x)) -> cv3."""
        self.ratio(e)
        hidden = int(c2 * e)
        y = self.conv(f"{name}.cv1", src, c1, hidden)
        side = self.conv(f"{name}.cv2", src, c1, hidden)
        for j in range(n):
            y = self.bottleneck(f"{name}.m.{j}", y, hidden, hidden, shortcut, g, k, 1.0)
        cat = self.add("concat", f"{name}.cat", [y, side])
        return self.conv(f"{name}.cv3", cat, 2 * hidden, c2)

    def c2f(self, name: str, src: str, c1: int, c2: int, n: int, e: float, inner: Any) -> str:
        """C2f (and C3k2): cv1 to 2c, chunk in two, each inner block on the last chunk, cat all -> cv2."""
        self.ratio(e)
        c = int(c2 * e)
        y = self.conv(f"{name}.cv1", src, c1, 2 * c)
        parts = [self.add("split", f"{name}.chunk0", y, parts=2, index=0),
                 self.add("split", f"{name}.chunk1", y, parts=2, index=1)]
        for j in range(n):
            parts.append(inner(f"{name}.m.{j}", parts[-1], c))
        cat = self.add("concat", f"{name}.cat", parts)
        return self.conv(f"{name}.cv2", cat, (2 + n) * c, c2)

    def ratio(self, e: Any) -> None:
        if type(e) not in (int, float) or not 0 < e <= 16:
            self.fail(f"the hidden ratio e must be a number above 0, got {e!r}")

    def flat(self, name: str, src: str, channels: int) -> str:
        """A level's [C, H, W] as [H·W, C] anchors, ready to be joined along the anchors."""
        return self.add("tokens", f"{name}.view", src)

    # ---- the rows

    def write(self) -> None:
        for row in self.rows:
            self.row, self.line = row, row.line
            src, c1, stride = self.resolve(row)
            args = [self.nc if a == "nc" else _literal(a) for a in row.args]
            n = max(round(row.repeats * self.depth), 1) if row.repeats > 1 else row.repeats
            c2, out, stride = getattr(self, "m_" + row.module.replace("nn.", "nn_"))(row, src, c1, stride, args, n)
            self.channels.append(c2)
            self.names.append(out)
            self.strides.append(stride)

    def resolve(self, row: Row) -> tuple[Any, Any, Any]:
        """A row's `from`: its input layers, channels and strides (lists for a list)."""
        many = isinstance(row.source, list)
        picks = row.source if many else [row.source]
        if not picks:
            self.fail("from is an empty list")
        found = []
        for f in picks:
            if type(f) is not int:
                self.fail(f"from {f!r} is not a layer index (-1 is the previous layer)")
            i = row.index
            if f == -1:
                found.append(self.input if i == 0 else (self.channels[-1], self.names[-1], self.strides[-1]))
            elif 0 <= f < i or -i <= f < 0:
                found.append((self.channels[f], self.names[f], self.strides[f]))
            else:
                span = f"0 to {i - 1}, or -1 to -{i}" if i else "only -1, the input"
                self.fail(f"from {f} is not an earlier layer (layer {i} can take {span})")
        if many:
            return [x[1] for x in found], [x[0] for x in found], [x[2] for x in found]
        return found[0][1], found[0][0], found[0][2]

    def fail(self, message: str) -> None:
        raise SpecError(f"layer {self.row.index} ({self.row.module}): {message}", file=self.file, line=self.line)

    def one(self, row: Row, src: Any) -> None:
        if isinstance(src, list):
            self.fail(f"{row.module} takes one input; from is a list")

    def width_of(self, c2: Any) -> int:
        if type(c2) is not int or c2 < 1:
            self.fail(f"the output channels (the first argument) must be a positive integer, got {c2!r}")
        return c2 if c2 == self.nc else make_divisible(min(c2, self.max_channels) * self.width, 8)

    def take(self, args: list[Any], defaults: Iterable[Any], names: str) -> list[Any]:
        """The module's arguments after its channels, with its defaults; too many is an error."""
        defaults = list(defaults)
        if len(args) > len(defaults):
            self.fail(f"takes at most {len(defaults)} arguments after the channels ({names}), got {len(args)}")
        out = args + defaults[len(args):]
        for value in out:
            if isinstance(value, str) and value not in ("nearest", "bilinear"):
                self.fail(f"argument {value!r} is not a number or true/false")
        return out

    def seq(self, n: int, name: str) -> list[str]:
        """A module repeated n times in sequence: model.i.0, model.i.1... (one: model.i)."""
        return [name] if n == 1 else [f"{name}.{j}" for j in range(n)]

    def m_Conv(self, row: Row, src: Any, c1: int, stride: float, args: list[Any], n: int) -> tuple[int, str, float]:
        self.one(row, src)
        c2 = self.width_of(args[0] if args else None)
        k, s, p, g, d, act = self.take(args[1:], (1, 1, None, 1, 1, True), "k, s, p, g, d, act")
        if p is not None and p != autopad(k, d):
            self.fail(f"explicit padding {p} (other than k // 2) is not mapped yet")
        for j, name in enumerate(self.seq(n, f"model.{row.index}")):
            src = self.conv(name, src, c1 if j == 0 else c2, c2, k, s, g, d, bool(act))
            stride *= s
        return c2, src, stride

    def m_Bottleneck(self, row: Row, src: Any, c1: int, stride: float, args: list[Any], n: int) -> tuple[int, str, float]:
        self.one(row, src)
        c2 = self.width_of(args[0] if args else None)
        shortcut, g, k, e = self.take(args[1:], (True, 1, (3, 3), 0.5), "shortcut, g, k, e")
        for j, name in enumerate(self.seq(n, f"model.{row.index}")):
            src = self.bottleneck(name, src, c1 if j == 0 else c2, c2, bool(shortcut), g,
                                  tuple(k) if isinstance(k, list) else k, e)
        return c2, src, stride

    def m_C3(self, row: Row, src: Any, c1: int, stride: float, args: list[Any], n: int) -> tuple[int, str, float]:
        self.one(row, src)
        c2 = self.width_of(args[0] if args else None)
        shortcut, g, e = self.take(args[1:], (True, 1, 0.5), "shortcut, g, e")
        return c2, self.c3(f"model.{row.index}", src, c1, c2, n, bool(shortcut), g, e), stride

    def m_C2f(self, row: Row, src: Any, c1: int, stride: float, args: list[Any], n: int) -> tuple[int, str, float]:
        self.one(row, src)
        c2 = self.width_of(args[0] if args else None)
        shortcut, g, e = self.take(args[1:], (False, 1, 0.5), "shortcut, g, e")

        def inner(name: str, x: str, c: int) -> str:
            return self.bottleneck(name, x, c, c, bool(shortcut), g, (3, 3), 1.0)

        return c2, self.c2f(f"model.{row.index}", src, c1, c2, n, e, inner), stride

    def m_C3k2(self, row: Row, src: Any, c1: int, stride: float, args: list[Any], n: int) -> tuple[int, str, float]:
        self.one(row, src)
        c2 = self.width_of(args[0] if args else None)
        c3k, e, g, shortcut = self.take(args[1:], (False, 0.5, 1, True), "c3k, e, g, shortcut")
        if self.scale_letter in ("m", "l", "x"):
            c3k = True  # ultralytics turns c3k on for the larger scales

        def inner(name: str, x: str, c: int) -> str:
            if c3k:  # C3k: a C3 of two 3x3 bottlenecks
                return self.c3(name, x, c, c, 2, bool(shortcut), g, 0.5, (3, 3))
            return self.bottleneck(name, x, c, c, bool(shortcut), g, (3, 3), 0.5)

        return c2, self.c2f(f"model.{row.index}", src, c1, c2, n, e, inner), stride

    scale_letter = ""

    def m_C2PSA(self, row: Row, src: Any, c1: int, stride: float, args: list[Any], n: int) -> tuple[int, str, float]:
        """C2PSA: cv1 to 2c, split in two, n PSABlocks on the second half, cat -> cv2 (c1 == c2)."""
        self.one(row, src)
        c2 = self.width_of(args[0] if args else None)
        (e,) = self.take(args[1:], (0.5,), "e")
        self.ratio(e)
        if c1 != c2:
            self.fail(f"C2PSA keeps its channels: its input has {c1}, its output {c2} (ultralytics asserts c1 == c2)")
        name, c = f"model.{row.index}", int(c1 * e)
        y = self.conv(f"{name}.cv1", src, c1, 2 * c)
        a = self.add("slice", f"{name}.split0", y, begin=0, end=c)
        b = self.add("slice", f"{name}.split1", y, begin=c, end=2 * c)
        for j in range(n):
            b = self.psa_block(f"{name}.m.{j}", b, c, c // 64)
        cat = self.add("concat", f"{name}.cat", [a, b])
        return c2, self.conv(f"{name}.cv2", cat, 2 * c, c1), stride

    def psa_block(self, name: str, src: str, c: int, heads: int) -> str:
        """PSABlock: x + attn(x), then x + ffn(x) (a Conv to 2c and a Conv back without activation)."""
        x = self.add("add", f"{name}.attn.add", [src, self.attention(f"{name}.attn", src, c, heads)])
        y = self.conv(f"{name}.ffn.0", x, c, 2 * c)
        y = self.conv(f"{name}.ffn.1", y, 2 * c, c, act=False)
        return self.add("add", f"{name}.ffn.add", [x, y])

    def attention(self, name: str, src: str, dim: int, heads: int, ratio: float = 0.5) -> str:
        """ultralytics' Attention on a [dim, H, W] map of N = H·W positions, per head: q and k of
        key_dim = int(head_dim · ratio) channels, v of head_dim; scores qᵀk · key_dim^-0.5, softmax
        over the keys (the last axis), v @ attnᵀ; plus pe (a depthwise 3x3 Conv without activation)
        of v as a map; then proj. qkv's channels are [head, q | k | v], so the heads come first
        (reshape), the q/k/v axis is moved to the front to slice it, and moved back (views)."""
        if heads < 1:
            self.fail(f"the attention has {dim} channels: ultralytics takes {dim} // 64 = 0 heads (it needs 64 channels or more)")
        hd = dim // heads
        kd = int(hd * ratio)
        if hd * heads != dim:
            self.fail(f"the attention's {dim} channels do not divide into {heads} heads ({dim} // 64) of {hd}: "
                      f"ultralytics' view of qkv fails")
        if kd < 1:
            self.fail(f"the attention's key_dim int({hd} * {ratio}) is 0")
        qkv = self.conv(f"{name}.qkv", src, dim, dim + 2 * kd * heads, act=False)
        per = 2 * kd + hd
        heads_first = self.add("reshape", f"{name}.view", qkv, shape=[heads, per, -1])  # [heads, 2kd + hd, N]
        parts = self.add("transpose", f"{name}.view.t", heads_first, dim0=1, dim1=2)  # [2kd + hd, heads, N]
        q, k, v = (self.add("slice", f"{name}.{part}", parts, begin=lo, end=hi)
                   for part, lo, hi in (("q", 0, kd), ("k", kd, 2 * kd), ("v", 2 * kd, per)))
        q = self.add("transpose", f"{name}.q.t", q, dim0=1, dim1=3)  # [N, heads, kd]
        q = self.add("transpose", f"{name}.q.tt", q, dim0=1, dim1=2)  # qᵀ per head: [heads, N, kd]
        k = self.add("transpose", f"{name}.k.t", k, dim0=1, dim1=2)  # [heads, kd, N]
        v = self.add("transpose", f"{name}.v.t", v, dim0=1, dim1=2)  # [heads, hd, N]
        scores = self.add("matmul", f"{name}.scores", [q, k])  # [heads, N, N]
        scores = self.add("scale", f"{name}.scale", scores, by=kd ** -0.5)
        attn = self.add("softmax", f"{name}.softmax", scores, dim=-1)
        out = self.add("matmul", f"{name}.values", [v, attn], transpose_b=True)  # [heads, hd, N]
        hw = list(self.measure(src)[1:])  # the map's spatial size, to view the heads back as [dim, H, W]
        out = self.add("reshape", f"{name}.out", out, shape=[dim, *hw])
        vmap = self.add("reshape", f"{name}.v.map", v, shape=[dim, *hw])
        pe = self.conv(f"{name}.pe", vmap, dim, dim, 3, g=dim, act=False)
        x = self.add("add", f"{name}.pe.add", [out, pe])
        return self.conv(f"{name}.proj", x, dim, dim, act=False)

    def m_SPPF(self, row: Row, src: Any, c1: int, stride: float, args: list[Any], n: int) -> tuple[int, str, float]:
        self.one(row, src)
        c2 = self.width_of(args[0] if args else None)
        (k,) = self.take(args[1:], (5,), "k")
        for j, name in enumerate(self.seq(n, f"model.{row.index}")):
            c_in = c1 if j == 0 else c2
            hidden = c_in // 2
            ys = [self.conv(f"{name}.cv1", src, c_in, hidden)]
            for t in range(3):  # the same pool three times in a row: windows k, 2k - 1, 3k - 2
                ys.append(self.add("maxpool", f"{name}.m.{t}", ys[-1], k=k, s=1, p=k // 2))
            cat = self.add("concat", f"{name}.cat", ys)
            src = self.conv(f"{name}.cv2", cat, hidden * 4, c2)
        return c2, src, stride

    def m_SPP(self, row: Row, src: Any, c1: int, stride: float, args: list[Any], n: int) -> tuple[int, str, float]:
        self.one(row, src)
        c2 = self.width_of(args[0] if args else None)
        (ks,) = self.take(args[1:], ((5, 9, 13),), "k")
        if not isinstance(ks, (list, tuple)) or not ks or not all(type(k) is int and k > 0 for k in ks):
            self.fail(f"k must be a list of pool sizes, like [5, 9, 13], got {ks!r}")
        for j, name in enumerate(self.seq(n, f"model.{row.index}")):
            c_in = c1 if j == 0 else c2
            hidden = c_in // 2
            x = self.conv(f"{name}.cv1", src, c_in, hidden)
            ys = [x] + [self.add("maxpool", f"{name}.m.{t}", x, k=k, s=1, p=k // 2) for t, k in enumerate(ks)]
            cat = self.add("concat", f"{name}.cat", ys)
            src = self.conv(f"{name}.cv2", cat, hidden * (len(ks) + 1), c2)
        return c2, src, stride

    def m_Concat(self, row: Row, src: Any, c1: Any, stride: Any, args: list[Any], n: int) -> tuple[int, str, float]:
        if not isinstance(src, list):
            self.fail("Concat joins layers: from is a list, like [-1, 6]")
        if args not in ([], [1]) or n != 1:
            self.fail("only Concat along the channels ([1]), once, is mapped")
        return sum(c1), self.add("concat", f"model.{row.index}", src), max(stride)

    def m_nn_Upsample(self, row: Row, src: Any, c1: int, stride: float, args: list[Any], n: int) -> tuple[int, str, float]:
        self.one(row, src)
        size, scale, mode = (args + [None, None, "nearest"][len(args):])[:3]
        if len(args) > 3 or size is not None or type(scale) not in (int, float) or not scale > 0 \
                or mode not in ("nearest", "bilinear"):
            self.fail("nn.Upsample is mapped as [None, scale, 'nearest' or 'bilinear']")
        assert isinstance(scale, (int, float))
        for name in self.seq(n, f"model.{row.index}"):
            src = self.add("upsample", name, src, scale=scale, mode=mode)
            stride /= scale
        return c1, src, stride

    def m_Classify(self, row: Row, src: Any, c1: int, stride: float, args: list[Any], n: int) -> tuple[int, str, float]:
        self.one(row, src)
        if n != 1 or row is not self.rows[-1]:
            self.fail("Classify is the model's last row, once")
        c2 = self.width_of(args[0] if args else None)
        k, s, p, g = self.take(args[1:], (1, 1, None, 1), "k, s, p, g")
        if p is not None and p != autopad(k):
            self.fail(f"explicit padding {p} (other than k // 2) is not mapped yet")
        name = f"model.{row.index}"
        y = self.conv(f"{name}.conv", src, c1, CLASSIFY_HIDDEN, k, s, g)
        y = self.add("gap", f"{name}.pool", y)
        y = self.add("flatten", f"{name}.flatten", y)
        y = self.add("linear", f"{name}.linear", y, out=c2)
        return c2, self.add("softmax", f"{name}.softmax", y), stride * s  # eval mode: probabilities

    def m_Detect(self, row: Row, src: Any, c1: Any, stride: Any, args: list[Any], n: int) -> tuple[int, str, float]:
        if not isinstance(src, list) or n != 1 or row is not self.rows[-1]:
            self.fail("Detect is the model's last row, once, reading a list of levels ([15, 18, 21])")
        nc = args[0] if args else self.nc
        if type(nc) is not int or nc < 1 or len(args) > 1:
            self.fail("Detect takes [nc]")
        name, reg = f"model.{row.index}", self.reg_max
        c2 = max(16, c1[0] // 4, 4 * reg)
        c3 = max(c1[0], min(nc, 100))
        boxes, scores = [], []
        for i, (x, ci) in enumerate(zip(src, c1)):
            b = self.conv(f"{name}.cv2.{i}.0", x, ci, c2, 3)
            b = self.conv(f"{name}.cv2.{i}.1", b, c2, c2, 3)
            b = self.add("conv", f"{name}.cv2.{i}.2", b, out=4 * reg, k=1)
            boxes.append(self.flat(f"{name}.cv2.{i}", b, 4 * reg))
            if self.legacy:  # YOLOv3u/v5u/v8: two 3x3 Convs
                s = self.conv(f"{name}.cv3.{i}.0", x, ci, c3, 3)
                s = self.conv(f"{name}.cv3.{i}.1", s, c3, c3, 3)
            else:  # YOLO11: depthwise 3x3 then pointwise, twice (DWConv: groups = gcd of the channels)
                s = self.conv(f"{name}.cv3.{i}.0.0", x, ci, ci, 3, g=ci)
                s = self.conv(f"{name}.cv3.{i}.0.1", s, ci, c3, 1)
                s = self.conv(f"{name}.cv3.{i}.1.0", s, c3, c3, 3, g=c3)
                s = self.conv(f"{name}.cv3.{i}.1.1", s, c3, c3, 1)
            s = self.add("conv", f"{name}.cv3.{i}.2", s, out=nc, k=1)
            scores.append(self.flat(f"{name}.cv3.{i}", s, nc))
        # every level's anchors joined: [A, 4·reg_max] and [A, nc], then channels first again
        box = self.add("concat", f"{name}.boxes.cat", boxes)
        box = self.add("transpose", f"{name}.boxes.t", box, dim0=1, dim1=2)
        if reg > 1:  # DFL: a softmax over each side's reg_max bins, then their expectation (a fixed 1x1 conv)
            box = self.add("reshape", f"{name}.dfl.view", box, shape=[4, reg, -1])
            box = self.add("transpose", f"{name}.dfl.t", box, dim0=1, dim1=2)
            box = self.add("softmax", f"{name}.dfl.softmax", box, dim=1)
            # [1, 4, A]: ultralytics views it as [4, A] (the same elements)
            box = self.add("conv", f"{name}.dfl.conv", box, out=1, k=1, bias=False)
        score = self.add("concat", f"{name}.scores.cat", scores)
        score = self.add("transpose", f"{name}.scores.t", score, dim0=1, dim1=2)
        score = self.add("sigmoid", f"{name}.scores.sigmoid", score)
        self.outputs = [("boxes", box), ("scores", score)]
        self.detect_strides = stride
        return 4 + nc, score, max(stride)

    def check_stride(self, shape: tuple[int, ...], line: int) -> None:
        """A detector's input must be a multiple of its largest stride (ultralytics rounds image
        sizes up to one), or its levels would not line up at the Concats."""
        if not self.outputs:
            return
        largest = int(max(self.strides))
        for axis, size in zip("HW", shape[1:]):
            if size % largest:
                up = -(-size // largest) * largest
                raise SpecError(f"input {'x'.join(map(str, shape))}: {axis} {size} is not a multiple of the model's "
                                f"largest stride {largest} (ultralytics rounds image sizes up to one: {up})",
                                file=self.file, line=line)


def _literal(value: Any) -> Any:
    """A row argument as ultralytics reads a string: None, True and False as Python's words;
    anything else is kept as written."""
    return {"None": None, "True": True, "False": False}.get(value, value) if isinstance(value, str) else value


