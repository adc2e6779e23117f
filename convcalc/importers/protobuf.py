"""Reading an ONNX file's structure straight from protobuf's wire format, without the onnx package.

An ONNX model is a protobuf message (onnx/onnx.proto). convcalc needs its nodes, its graph's
inputs and outputs, and its initializers' names, shapes and element types, never the weights: a
ResNet-50 file is about 100 MB of weights around a few kilobytes of structure. So the file is
memory-mapped and walked field by field; a weight's bytes are skipped by their length and never
read (only the pages holding the headers are touched), and weights in external data files are
never read. Small tensors are decoded on demand (`values`), for the shape arguments of Reshape,
Pad, Resize and the like, from an external data file next to the model where one is kept there. The onnx package takes 2.5 s to import here (its ml_dtypes
dependency); this reads ResNet-50 in milliseconds.

Field numbers are onnx.proto's (IR version 3 and later: ModelProto.graph = 7, GraphProto.node = 1,
...). A malformed file raises `ProtobufError` with the byte offset.
"""

from __future__ import annotations

import os
import stat
import struct
from typing import Any, Iterator, NamedTuple

from .. import limits

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
MAX_DECODED = 4096  # elements of a tensor decoded as a value (shape arguments are a handful)


class ProtobufError(Exception):
    pass


def _varint(buf: Any, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise ProtobufError(f"a truncated or overlong number at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def fields(buf: Any, start: int, end: int) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of one message: an int for numbers, (start, end) for
    length-delimited fields (strings, bytes, sub-messages, packed lists)."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = _varint(buf, pos, end)
        elif wire == LENGTH:
            size, pos = _varint(buf, pos, end)
            if pos + size > end:
                raise ProtobufError(f"field {field} at byte {pos} runs past the end of its message")
            value = (pos, pos + size)
            pos += size
        elif wire == FIXED32:
            value = bytes(buf[pos:pos + 4])
            pos += 4
        elif wire == FIXED64:
            value = bytes(buf[pos:pos + 8])
            pos += 8
        else:
            raise ProtobufError(f"wire type {wire} at byte {pos} is not protobuf's")
        if field == 0 or pos > end:
            raise ProtobufError(f"a malformed field at byte {pos}")
        yield field, wire, value


def _text(buf: Any, span: tuple[int, int]) -> str:
    return bytes(buf[span[0]:span[1]]).decode("utf-8", "replace")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _ints(buf: Any, wire: int, value: Any) -> list[int]:
    """A repeated int64 field's items: packed (one LENGTH field) or one per field."""
    if wire == VARINT:
        return [_signed(value)]
    out, pos = [], value[0]
    while pos < value[1]:
        item, pos = _varint(buf, pos, value[1])
        out.append(_signed(item))
    return out


def _floats(buf: Any, wire: int, value: Any) -> list[float]:
    if wire == FIXED32:
        return [struct.unpack("<f", value)[0]]
    data = bytes(buf[value[0]:value[1]])
    return list(struct.unpack(f"<{len(data) // 4}f", data))


# TensorProto.DataType: element formats for the types decoded as values
_FORMATS = {1: "f", 2: "B", 3: "b", 4: "H", 5: "h", 6: "i", 7: "q", 9: "?", 11: "d", 12: "I", 13: "Q"}


class Tensor(NamedTuple):
    name: str
    dims: tuple[int, ...]
    data_type: int
    external: bool
    raw: tuple[int, int] | None  # span of raw_data in the file
    typed: tuple[tuple[int, int, Any], ...]  # (field, wire, value) of float_data/int32_data/int64_data/double_data
    where: tuple[tuple[str, str], ...] = ()  # external_data: location, offset, length (as the file writes them)

    def numel(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n


def tensor(buf: Any, span: tuple[int, int]) -> Tensor:
    dims: list[int] = []
    name, data_type, external, raw = "", 0, False, None
    typed: list[tuple[int, int, Any]] = []
    where: list[tuple[str, str]] = []
    for field, wire, value in fields(buf, *span):
        if field == 1:
            dims += _ints(buf, wire, value)
        elif field == 2:
            data_type = value
        elif field == 8:
            name = _text(buf, value)
        elif field == 9:
            raw = value
        elif field == 14:
            external = value == 1
        elif field == 13 and wire == LENGTH:
            entry = {key: _text(buf, text) for key, w, text in fields(buf, *value) if key in (1, 2) and w == LENGTH}
            where.append((entry.get(1, ""), entry.get(2, "")))
        elif field in (4, 5, 7, 10):
            typed.append((field, wire, value))
    return Tensor(name, tuple(dims), data_type, external, raw, tuple(typed), tuple(where))


def values(buf: Any, t: Tensor, folder: str | None = None) -> list[Any] | None:
    """A small tensor's elements (flat), or None when it is large or of another type. A small
    tensor in an external data file (torch's dynamo exporter puts an `as_strided` index there) is
    read from that file, next to the model: its `length` bytes at `offset`, nothing else."""
    if t.numel() > MAX_DECODED:
        return None
    fmt = _FORMATS.get(t.data_type)
    if t.external:
        data = _external(t, folder, struct.calcsize(fmt) * t.numel()) if fmt and folder is not None else None
        return list(struct.unpack(f"<{t.numel()}{fmt}", data)) if data is not None else None
    if t.raw is not None:
        if fmt is None:
            return None
        data = bytes(buf[t.raw[0]:t.raw[1]])
        size = struct.calcsize(fmt)
        return list(struct.unpack(f"<{len(data) // size}{fmt}", data))
    out: list[Any] = []
    for field, wire, value in t.typed:
        if field == 4:
            out += _floats(buf, wire, value)
        elif field in (5, 7):
            out += _ints(buf, wire, value)
        elif field == 10:
            data = bytes(buf[value[0]:value[1]]) if wire == LENGTH else value
            out += list(struct.unpack(f"<{len(data) // 8}d", data))
    if t.data_type == 9:
        out = [bool(v) for v in out]
    return out


def _external(t: Tensor, folder: str, size: int) -> bytes | None:
    """`size` bytes of an external data file in the model's folder (never outside it, not through a
    symbolic link to a file or folder elsewhere, never a FIFO or device), or None when the file does
    not hold them as the tensor says."""
    entries = dict(t.where)
    location = entries.get("location", "")
    try:
        offset, length = int(entries.get("offset", "0")), int(entries.get("length", str(size)))
    except ValueError:
        return None
    parts = location.replace("\\", "/").split("/")
    if not location or location.startswith("/") or ".." in parts or length != size or offset < 0:
        return None
    # the real path, every link resolved, must lie in the folder's real path: `pads.bin ->
    # ../secret.bin` or a linked folder inside it is elsewhere
    root = os.path.realpath(folder)
    path = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([root, path]) != root or path == root:
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        # O_NOFOLLOW: a link put in its place since is not followed either
        with open(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as handle:
            handle.seek(offset)
            data = handle.read(size)
    except OSError:
        return None
    return data if len(data) == size else None


class Node(NamedTuple):
    op_type: str
    domain: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict[str, Any]
    metadata: dict[str, str]


def _attribute(buf: Any, span: tuple[int, int]) -> tuple[str, Any]:
    name, value, kind = "", None, 0
    ints: list[int] = []
    floats: list[float] = []
    strings: list[str] = []
    for field, wire, raw in fields(buf, *span):
        if field == 1:
            name = _text(buf, raw)
        elif field == 20:
            kind = raw
        elif field == 2:
            value = struct.unpack("<f", raw)[0]
        elif field == 3:
            value = _signed(raw)
        elif field == 4:
            value = _text(buf, raw)
        elif field == 5:
            value = tensor(buf, raw)
        elif field == 6:
            value = ("graph", raw)
        elif field == 7:
            floats += _floats(buf, wire, raw)
        elif field == 8:
            ints += _ints(buf, wire, raw)
        elif field == 9:
            strings.append(_text(buf, raw))
    if kind == 7 or (value is None and ints):
        value = ints
    elif kind == 6 or (value is None and floats):
        value = floats
    elif kind == 8 or (value is None and strings):
        value = strings
    elif value is None and kind == 7:
        value = []
    return name, value


def node(buf: Any, span: tuple[int, int]) -> Node:
    inputs, outputs, attributes, metadata = [], [], {}, {}
    op_type = domain = name = ""
    for field, _wire, value in fields(buf, *span):
        if field == 1:
            inputs.append(_text(buf, value))
        elif field == 2:
            outputs.append(_text(buf, value))
        elif field == 3:
            name = _text(buf, value)
        elif field == 4:
            op_type = _text(buf, value)
        elif field == 7:
            domain = _text(buf, value)
        elif field == 5:
            key, item = _attribute(buf, value)
            attributes[key] = item
        elif field == 9:
            entry = {f: _text(buf, v) for f, _, v in fields(buf, *value)}
            metadata[entry.get(1, "")] = entry.get(2, "")
    return Node(op_type, domain, name, tuple(inputs), tuple(outputs), attributes, metadata)


class ValueInfo(NamedTuple):
    name: str
    dims: tuple[int | str | None, ...] | None  # an int, a symbolic name, or None; None: no shape


def value_info(buf: Any, span: tuple[int, int]) -> ValueInfo:
    name, dims = "", None
    for field, _, value in fields(buf, *span):
        if field == 1:
            name = _text(buf, value)
        elif field == 2:
            for f2, _, v2 in fields(buf, *value):  # TypeProto
                if f2 != 1:
                    continue
                for f3, _, v3 in fields(buf, *v2):  # TypeProto.Tensor
                    if f3 != 2:
                        continue
                    found: list[int | str | None] = []
                    for f4, _, v4 in fields(buf, *v3):  # TensorShapeProto.dim
                        if f4 != 1:
                            continue
                        dim: int | str | None = None
                        for f5, _, v5 in fields(buf, *v4):
                            if f5 == 1:
                                dim = _signed(v5)
                            elif f5 == 2:
                                dim = _text(buf, v5)
                        found.append(dim)
                    dims = tuple(found)
    return ValueInfo(name, dims)


class Graph(NamedTuple):
    nodes: tuple[Node, ...]
    initializers: dict[str, Tensor]
    inputs: tuple[ValueInfo, ...]
    outputs: tuple[ValueInfo, ...]
    value_info: dict[str, ValueInfo]
    sparse: int  # sparse initializers (not read)
    node_count: int = 0  # nodes in the file: past limits.MAX_LAYERS counted, not decoded (`nodes` stops there)


class Model(NamedTuple):
    ir_version: int
    producer: str
    opsets: dict[str, int]  # domain ("" is ONNX's) -> version
    graph: Graph


def model(buf: Any) -> Model:
    """The model in `buf`; ProtobufError for anything that does not read as ONNX's messages (a
    field of the wrong wire type, a truncated number, a bad tensor), never another exception."""
    try:
        return _model(buf)
    except (TypeError, ValueError, IndexError, KeyError, OverflowError, struct.error, RecursionError) as exc:
        raise ProtobufError(f"a field is not of the type ONNX defines ({type(exc).__name__})") from None


def _model(buf: Any) -> Model:
    ir_version, producer, opsets, graph_span = 0, "", {}, None
    producer_version = ""
    for field, _, value in fields(buf, 0, len(buf)):
        if field == 1:
            ir_version = value
        elif field == 2:
            producer = _text(buf, value)
        elif field == 3:
            producer_version = _text(buf, value)
        elif field == 7:
            graph_span = value
        elif field == 8:
            entry = dict((f, v) for f, _, v in fields(buf, *value))
            domain = _text(buf, entry[1]) if 1 in entry else ""
            opsets[domain] = entry.get(2, 0)
    if graph_span is None:
        raise ProtobufError("it has no graph")
    nodes, initializers, inputs, outputs, infos = [], {}, [], [], {}
    sparse = count = 0
    for field, _, value in fields(buf, *graph_span):
        if field == 1:
            count += 1
            if count <= limits.MAX_LAYERS:  # a longer graph is refused: its other nodes are only counted
                nodes.append(node(buf, value))
        elif field == 5:
            t = tensor(buf, value)
            initializers[t.name] = t
        elif field == 11:
            inputs.append(value_info(buf, value))
        elif field == 12:
            outputs.append(value_info(buf, value))
        elif field == 13:
            info = value_info(buf, value)
            infos[info.name] = info
        elif field == 15:
            sparse += 1
    return Model(ir_version, f"{producer} {producer_version}".strip(), opsets,
                 Graph(tuple(nodes), initializers, tuple(inputs), tuple(outputs), infos, sparse, count))
