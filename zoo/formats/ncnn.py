"""Reader for ncnn ``.param`` / ``.bin`` pairs of the ESRGAN family (Real-ESRGAN's ncnn models).

Three steps, each a plain function:

1. ``parse_param(text)`` turns the text ``.param`` into a ``Graph``: a list of ``Layer`` s
   (type, name, input blobs, output blobs, ``{param id: value}``).
2. ``read_bin(graph, data)`` walks the layers in file order and cuts the ``.bin`` into the
   weight arrays each layer stores (``LAYER_WEIGHTS``), checking that every byte is used.
3. ``recognise(graph)`` decides from the layer structure which zoo architecture the graph is
   (``rrdbnet`` or ``srvgg``) and with which kwargs; ``read_ncnn`` then assigns the arrays, in
   order, onto the state-dict keys of that architecture, checking every shape.

The ``.bin`` has no names and no shapes: it is the weights of the layers in ``.param`` order,
which for these exports is the definition order of the PyTorch modules, so the n-th array is
the n-th state-dict entry. Tensor layouts in the ``.bin``:

* Convolution weight: ``[num_output, in_channels, kernel_h, kernel_w]`` flattened (row-major),
  the same order as ``torch.nn.Conv2d.weight``; preceded by a 4-byte storage tag (see
  ``read_tagged``). ``in_channels`` is ``weight_data_size / (num_output * kh * kw)``.
* Convolution bias (when param 5 = 1): ``[num_output]`` raw little-endian float32, no tag.
* PReLU slopes: ``[num_slope]`` raw float32, no tag.

Nothing here runs ncnn; the files are read as data.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import CheckpointError
from .base import Converted, merge_official_config

FAMILY = "esrgan"
LAYOUT = "ncnn"
MAGIC = 7767517
ARRAY_KEY_BASE = -23300  # a param key k <= -23300 holds an array for param id -k - 23300

# Storage tags of "auto"-typed weights (the first 4 bytes, little-endian uint32); see read_tagged.
TAG_FP16 = 0x01306B47
TAG_FP32 = 0x0002C056
TAG_INT8 = 0x000D4B38
TAG_RAW = 0

# Convolution param ids.
CONV_NUM_OUTPUT, CONV_KERNEL_W, CONV_DILATION_W, CONV_STRIDE_W, CONV_PAD_LEFT = 0, 1, 2, 3, 4
CONV_BIAS_TERM, CONV_WEIGHT_SIZE, CONV_INT8_SCALE, CONV_ACT_TYPE, CONV_ACT_PARAMS = 5, 6, 8, 9, 10
CONV_KERNEL_H, CONV_DILATION_H, CONV_STRIDE_H, CONV_PAD_TOP, CONV_PAD_RIGHT, CONV_PAD_BOTTOM = 11, 12, 13, 14, 15, 16
CONV_DYNAMIC_WEIGHT = 19

# Interp param ids and resize types.
INTERP_TYPE, INTERP_HEIGHT_SCALE, INTERP_WIDTH_SCALE = 0, 1, 2
INTERP_NAMES = {1: "nearest", 2: "bilinear", 3: "bicubic"}

ParamValue = int | float | tuple[int | float, ...]


# ---------------------------------------------------------------------------------------------
# .param


@dataclass(frozen=True)
class Layer:
    """One line of a ``.param`` file.

    ``params`` maps param ids to values: ints, floats, or tuples for array params (stored in
    the file under key ``-23300 - id``).
    """

    type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: Mapping[int, ParamValue] = field(default_factory=dict)

    def param(self, key: int, default: ParamValue = 0) -> ParamValue:
        return self.params.get(key, default)

    def __str__(self) -> str:
        return f"{self.type} {self.name!r}"


@dataclass
class Graph:
    """A parsed ``.param``: the layers in file order and the declared blob count."""

    layers: list[Layer]
    blob_count: int

    def producer(self, blob: str) -> Layer | None:
        """The layer that outputs ``blob`` (None for an unknown blob)."""
        for layer in self.layers:
            if blob in layer.outputs:
                return layer
        return None

    def consumers(self, blob: str) -> list[Layer]:
        """The layers that take ``blob`` as an input, in file order."""
        return [layer for layer in self.layers if blob in layer.inputs]

    def output_blobs(self) -> list[str]:
        """Blobs that some layer produces and no layer consumes (the network's outputs)."""
        consumed = {b for layer in self.layers for b in layer.inputs}
        return [b for layer in self.layers for b in layer.outputs if b not in consumed]

    def source(self, blob: str) -> Layer | None:
        """The producer of ``blob``, looking through ``Split`` layers (which only copy a blob)."""
        layer = self.producer(blob)
        while layer is not None and layer.type == "Split":
            layer = self.producer(layer.inputs[0])
        return layer


def _number(token: str) -> int | float:
    """A param value: an int when it is written as one, otherwise a float."""
    try:
        return int(token)
    except ValueError:
        return float(token)


def _parse_params(tokens: list[str], where: str) -> dict[int, ParamValue]:
    params: dict[int, ParamValue] = {}
    for token in tokens:
        key_text, sep, value_text = token.partition("=")
        try:
            key = int(key_text)
            if not sep:
                raise ValueError
            if key <= ARRAY_KEY_BASE:
                count_text, *items = value_text.split(",")
                values = tuple(_number(v) for v in items)
                if int(count_text) != len(values):
                    raise ValueError
                params[-key + ARRAY_KEY_BASE] = values
            else:
                params[key] = _number(value_text)
        except ValueError:
            raise CheckpointError(f"{where}: malformed param {token!r}") from None
    return params


def parse_param(text: str, what: str = "ncnn .param") -> Graph:
    """Parse the text of an ncnn ``.param`` file into a ``Graph``.

    Format: line 1 is the magic 7767517, line 2 ``layer_count blob_count``, then one layer a
    line: ``Type name n_in n_out in_blobs... out_blobs... key=value...``.
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != [str(MAGIC)]:
        first = " ".join(lines[0])[:40] if lines else "empty"
        raise CheckpointError(f"{what} is not a text ncnn .param (first line {first!r}, expected {MAGIC})")
    try:
        layer_count, blob_count = (int(v) for v in lines[1])
    except (IndexError, ValueError):
        raise CheckpointError(f"{what}: line 2 should be 'layer_count blob_count'") from None
    layers = []
    for lineno, tokens in enumerate(lines[2:], start=3):
        where = f"{what} line {lineno}"
        try:
            kind, name, n_in, n_out = tokens[0], tokens[1], int(tokens[2]), int(tokens[3])
        except (IndexError, ValueError):
            raise CheckpointError(f"{where}: expected 'Type name n_in n_out ...'") from None
        blobs = tokens[4 : 4 + n_in + n_out]
        if len(blobs) != n_in + n_out or any("=" in b for b in blobs):
            raise CheckpointError(f"{where}: {kind} {name!r} lists fewer than {n_in + n_out} blobs")
        params = _parse_params(tokens[4 + n_in + n_out :], where)
        layers.append(Layer(kind, name, tuple(blobs[:n_in]), tuple(blobs[n_in:]), params))
    if len(layers) != layer_count:
        raise CheckpointError(f"{what} declares {layer_count} layers but has {len(layers)}")
    return Graph(layers, blob_count)


# ---------------------------------------------------------------------------------------------
# .bin


@dataclass(frozen=True)
class WeightSpec:
    """One array a layer stores: its role, shape, and whether it starts with a storage tag."""

    role: str
    shape: tuple[int, ...]
    tagged: bool


def _conv_weights(layer: Layer) -> list[WeightSpec]:
    if layer.param(CONV_INT8_SCALE) or layer.param(CONV_DYNAMIC_WEIGHT):
        raise CheckpointError(f"{layer} is an int8-quantised or dynamic-weight convolution, which is not supported")
    out = int(layer.param(CONV_NUM_OUTPUT))
    kw = int(layer.param(CONV_KERNEL_W))
    kh = int(layer.param(CONV_KERNEL_H, kw))
    size = int(layer.param(CONV_WEIGHT_SIZE))
    if out <= 0 or kw <= 0 or kh <= 0 or size % (out * kh * kw):
        raise CheckpointError(f"{layer}: weight_data_size {size} does not fit {out} outputs of {kh}x{kw} kernels")
    specs = [WeightSpec("weight", (out, size // (out * kh * kw), kh, kw), tagged=True)]
    if layer.param(CONV_BIAS_TERM):
        specs.append(WeightSpec("bias", (out,), tagged=False))
    return specs


def _prelu_weights(layer: Layer) -> list[WeightSpec]:
    return [WeightSpec("weight", (int(layer.param(0)),), tagged=False)]


# What each layer type stores in the .bin, in order. Types not listed here are refused.
LAYER_WEIGHTS: dict[str, Callable[[Layer], list[WeightSpec]]] = {
    "Convolution": _conv_weights,
    "PReLU": _prelu_weights,
}
WEIGHTLESS = frozenset({"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle", "ReLU"})


@dataclass
class LayerWeight:
    """One array cut from the ``.bin``: float32, already in ``spec.shape``; ``encoding`` names its storage."""

    layer: Layer
    spec: WeightSpec
    array: np.ndarray
    encoding: str


class _Cursor:
    """Reads consecutive byte ranges of the ``.bin``; running past the end is a ``CheckpointError``."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.what = what

    def take(self, nbytes: int, reading: str) -> memoryview:
        end = self.pos + nbytes
        if end > len(self.data):
            raise CheckpointError(
                f"{self.what} is truncated: it ends at byte {len(self.data)}, "
                f"{end - len(self.data)} bytes short of the end of {reading}"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk


def _align4(n: int) -> int:
    return (n + 3) // 4 * 4


def read_raw(cursor: _Cursor, count: int, reading: str) -> np.ndarray:
    """``count`` little-endian float32 values with no tag (biases, PReLU slopes)."""
    return np.frombuffer(cursor.take(4 * count, reading), dtype="<f4").astype(np.float32)


def read_tagged(cursor: _Cursor, count: int, reading: str) -> tuple[np.ndarray, str]:
    """``count`` values preceded by ncnn's 4-byte storage tag; returns (float32 array, encoding).

    Tags, as ncnn's ModelBinFromDataReader reads them: 0x01306B47 = float16 values padded to
    a multiple of 4 bytes; 0x0002C056 = float32 values; 0 = float32 values; 0x000D4B38 = int8
    values (refused); any other non-zero tag = a 256-entry float32 table followed by uint8
    indices (refused).
    """
    (tag,) = struct.unpack("<I", cursor.take(4, f"the storage tag of {reading}"))
    if tag == TAG_FP16:
        raw = cursor.take(_align4(2 * count), reading)
        return np.frombuffer(raw[: 2 * count], dtype="<f2").astype(np.float32), "fp16"
    if tag in (TAG_FP32, TAG_RAW):
        return read_raw(cursor, count, reading), "fp32" if tag == TAG_RAW else "fp32 (tagged)"
    if tag == TAG_INT8:
        raise CheckpointError(
            f"{cursor.what}: {reading} is int8-quantised (tag 0x{TAG_INT8:08X}), which is not supported; "
            "use an fp16 or fp32 model"
        )
    raise CheckpointError(
        f"{cursor.what}: {reading} has storage tag 0x{tag:08X} (8-bit lookup-table weights, or a corrupt file), "
        "which is not supported"
    )


def read_bin(graph: Graph, data: bytes, what: str = "ncnn .bin") -> list[LayerWeight]:
    """Cut ``data`` into the weight arrays of ``graph``'s layers, in layer order.

    Every byte must belong to some array: a short file or bytes left over raise
    ``CheckpointError``. Layer types neither in ``LAYER_WEIGHTS`` nor in ``WEIGHTLESS`` are
    refused, since their storage is unknown.
    """
    cursor = _Cursor(data, what)
    weights = []
    for layer in graph.layers:
        if layer.type in WEIGHTLESS:
            continue
        if layer.type not in LAYER_WEIGHTS:
            raise CheckpointError(f"{what}: layer type {layer.type} ({layer.name!r}) is not supported")
        for spec in LAYER_WEIGHTS[layer.type](layer):
            count = math.prod(spec.shape)
            reading = f"{layer} {spec.role}"
            if spec.tagged:
                array, encoding = read_tagged(cursor, count, reading)
            else:
                array, encoding = read_raw(cursor, count, reading), "fp32"
            weights.append(LayerWeight(layer, spec, array.reshape(spec.shape), encoding))
    if cursor.pos != len(data):
        raise CheckpointError(
            f"{what} has {len(data) - cursor.pos} bytes left over after the weights of all "
            f"{len(graph.layers)} layers (is it the .bin of another .param?)"
        )
    return weights


# ---------------------------------------------------------------------------------------------
# Recognising the architecture


@dataclass
class Recognised:
    """What the graph is: zoo arch name and kwargs, plus notes for the user."""

    arch: str
    arch_kwargs: dict[str, Any]
    notes: list[str] = field(default_factory=list)


# An activation as (kind, slope): ("none", 0), ("leaky", slope) with slope 0 for ReLU, ("prelu", 0).
Activation = tuple[str, float]
NONE: Activation = ("none", 0.0)


def conv_activation(graph: Graph, conv: Layer) -> Activation:
    """The activation applied to a convolution's output: fused (param 9) or a following layer."""
    act_type = int(conv.param(CONV_ACT_TYPE))
    if act_type == 1:
        return ("leaky", 0.0)
    if act_type == 2:
        slope = conv.param(CONV_ACT_PARAMS, (0.0,))
        return ("leaky", float(slope[0] if isinstance(slope, tuple) else slope))
    if act_type != 0:
        return (f"activation_type {act_type}", 0.0)
    after = graph.consumers(conv.outputs[0])
    if len(after) == 1 and after[0].type == "ReLU":
        return ("leaky", float(after[0].param(0, 0.0)))
    if len(after) == 1 and after[0].type == "PReLU":
        return ("prelu", 0.0)
    return NONE


def _describe(act: Activation) -> str:
    kind, slope = act
    if kind == "leaky":
        return f"leaky relu {slope:g}" if slope else "relu"
    return kind


def _check_activations(graph: Graph, convs: list[Layer], expected: list[Activation], arch: str) -> None:
    for conv, want in zip(convs, expected, strict=True):
        got = conv_activation(graph, conv)
        if got[0] != want[0] or abs(got[1] - want[1]) > 1e-6:
            raise CheckpointError(
                f"ncnn graph: {conv} is followed by {_describe(got)} where {arch} has {_describe(want)}"
            )


def _check_conv_geometry(conv: Layer) -> None:
    """Every conv of these archs is 3x3, stride 1, dilation 1, padding 1."""
    kw = conv.param(CONV_KERNEL_W, 0)
    sw = conv.param(CONV_STRIDE_W, 1)
    dw = conv.param(CONV_DILATION_W, 1)
    pl = conv.param(CONV_PAD_LEFT, 0)
    geometry = {
        "kernel": (kw, conv.param(CONV_KERNEL_H, kw)),
        "stride": (sw, conv.param(CONV_STRIDE_H, sw)),
        "dilation": (dw, conv.param(CONV_DILATION_H, dw)),
        "padding": (pl, conv.param(CONV_PAD_TOP, pl), conv.param(CONV_PAD_RIGHT, pl), conv.param(CONV_PAD_BOTTOM, pl)),
    }
    wanted = {"kernel": 3, "stride": 1, "dilation": 1, "padding": 1}
    for what, values in geometry.items():
        if any(v != wanted[what] for v in values):
            raise CheckpointError(
                f"ncnn graph: {conv} has {what} {values}, not the 3x3/stride 1/padding 1 of ESRGAN convs"
            )


def _interp(layer: Layer) -> tuple[str, float, float]:
    """(mode, height scale, width scale) of an Interp layer."""
    mode = INTERP_NAMES.get(int(layer.param(INTERP_TYPE)), f"resize_type {layer.param(INTERP_TYPE)}")
    return mode, float(layer.param(INTERP_HEIGHT_SCALE, 1.0)), float(layer.param(INTERP_WIDTH_SCALE, 1.0))


def split_trailing_resize(graph: Graph) -> tuple[list[Layer], list[Layer]]:
    """(core layers, trailing Interp layers): Interps that resize the network's final output.

    The Real-ESRGAN x2/x3 ncnn files are the x4 network plus a bicubic resize by 0.5/0.75;
    that resize is not part of the zoo architecture, so it is set aside (and noted).
    """
    outputs = graph.output_blobs()
    if len(outputs) != 1:
        raise CheckpointError(f"ncnn graph has {len(outputs)} output blobs ({', '.join(outputs[:3])}); expected 1")
    trailing = []
    layer = graph.producer(outputs[0])
    while layer is not None and layer.type == "Interp" and not _is_input(graph, layer.inputs[0]):
        trailing.insert(0, layer)
        layer = graph.producer(layer.inputs[0])
    return [l for l in graph.layers if all(l is not t for t in trailing)], trailing


def _is_input(graph: Graph, blob: str) -> bool:
    """Whether ``blob`` is the network input (possibly through Split layers)."""
    source = graph.source(blob)
    return source is not None and source.type == "Input"


def _single_input(layers: list[Layer]) -> Layer:
    inputs = [l for l in layers if l.type == "Input"]
    if len(inputs) != 1:
        raise CheckpointError(f"ncnn graph has {len(inputs)} Input layers; expected 1")
    return inputs[0]


def _input_channels(first_conv: Layer, input_layer: Layer) -> int:
    """Input channels from the first conv's weight size, checked against Input's c (param 2) if given."""
    channels = _conv_weights(first_conv)[0].shape[1]
    declared = int(input_layer.param(2, 0))
    if declared > 0 and declared != channels:
        raise CheckpointError(f"ncnn graph: Input declares {declared} channels but {first_conv} takes {channels}")
    return channels


def _only_types(layers: list[Layer], allowed: set[str], arch: str) -> None:
    extra = sorted({l.type for l in layers} - allowed)
    if extra:
        raise CheckpointError(f"ncnn graph looks like {arch} but has {', '.join(extra)} layers, which {arch} does not")


RRDB_TYPES = {"Input", "Split", "Convolution", "Concat", "Eltwise", "BinaryOp", "Interp", "ReLU"}
RRDB_CONVS_PER_BLOCK = 15  # 3 dense blocks x 5 convs
RRDB_CONCATS_PER_BLOCK = 12  # 3 dense blocks x 4 concats
RRDB_LRELU: Activation = ("leaky", 0.2)


def recognise_rrdbnet(graph: Graph, layers: list[Layer]) -> Recognised:
    """RRDBNet: conv_first, num_block x RRDB (15 convs, 12 concats each), conv_body,
    (nearest Interp + conv) per upsampling step, conv_hr, conv_last."""
    from ..archs.esrgan import upsample_factors

    _only_types(layers, RRDB_TYPES, "rrdbnet")
    convs = [l for l in layers if l.type == "Convolution"]
    interps = [_interp(l) for l in layers if l.type == "Interp"]
    factors = []
    for mode, sh, sw in interps:
        if mode != "nearest" or sh != sw or sh != int(sh):
            raise CheckpointError(
                f"ncnn graph: rrdbnet upsamples by nearest integer factors, not {mode} x{sh:g}/x{sw:g}"
            )
        factors.append(int(sh))
    scale = math.prod(factors)
    try:
        if upsample_factors(scale) != factors:
            raise ValueError(f"steps {factors}")
    except ValueError as exc:
        raise CheckpointError(f"ncnn graph: rrdbnet cannot upsample x{scale} in these steps ({exc})") from None
    trunk = len(convs) - 4 - len(factors)  # conv_first, conv_body, conv_hr, conv_last + one per step
    num_block, rest = divmod(trunk, RRDB_CONVS_PER_BLOCK)
    concats = sum(l.type == "Concat" for l in layers)
    if num_block < 1 or rest or concats != RRDB_CONCATS_PER_BLOCK * num_block:
        raise CheckpointError(
            f"ncnn graph: {len(convs)} convolutions and {concats} concats with {len(factors)} upsampling steps "
            "fit no RRDBNet"
        )
    for conv in convs:
        _check_conv_geometry(conv)
    dense = [RRDB_LRELU] * 4 + [NONE]
    expected = [NONE] + dense * 3 * num_block + [NONE] + [RRDB_LRELU] * (len(factors) + 1) + [NONE]
    _check_activations(graph, convs, expected, "rrdbnet")
    kwargs = {
        "num_in_ch": _input_channels(convs[0], _single_input(layers)),
        "num_out_ch": int(convs[-1].param(CONV_NUM_OUTPUT)),
        "num_feat": int(convs[0].param(CONV_NUM_OUTPUT)),
        "num_block": num_block,
        "num_grow_ch": int(convs[1].param(CONV_NUM_OUTPUT)),
        "scale": scale,
    }
    return Recognised("rrdbnet", kwargs)


SRVGG_TYPES = {"Input", "Split", "Convolution", "PReLU", "ReLU", "PixelShuffle", "Interp", "BinaryOp"}
SRVGG_ACTS: dict[Activation, str] = {("prelu", 0.0): "prelu", ("leaky", 0.0): "relu", ("leaky", 0.1): "leakyrelu"}


def recognise_srvgg(graph: Graph, layers: list[Layer]) -> Recognised:
    """SRVGGNetCompact: (num_conv + 2) convs with activations, PixelShuffle, plus the nearest-upsampled input."""
    _only_types(layers, SRVGG_TYPES, "srvgg")
    convs = [l for l in layers if l.type == "Convolution"]
    shuffles = [l for l in layers if l.type == "PixelShuffle"]
    interps = [l for l in layers if l.type == "Interp"]
    if len(shuffles) != 1 or len(interps) != 1 or len(convs) < 2:
        raise CheckpointError(
            f"ncnn graph: {len(convs)} convolutions, {len(shuffles)} PixelShuffle and {len(interps)} Interp layers "
            "fit no SRVGGNetCompact"
        )
    upscale = int(shuffles[0].param(0, 1))
    mode, sh, sw = _interp(interps[0])
    if (mode, sh, sw) != ("nearest", upscale, upscale) or not _is_input(graph, interps[0].inputs[0]):
        raise CheckpointError(
            f"ncnn graph: srvgg adds the input upsampled nearest x{upscale}, not {mode} x{sh:g}/x{sw:g}"
        )
    for conv in convs:
        _check_conv_geometry(conv)
    act = conv_activation(graph, convs[0])
    act_type = SRVGG_ACTS.get((act[0], round(act[1], 6)))
    if act_type is None:
        raise CheckpointError(f"ncnn graph: srvgg activation {_describe(act)} is none of prelu, relu, leaky relu 0.1")
    _check_activations(graph, convs, [act] * (len(convs) - 1) + [NONE], "srvgg")
    out_total = int(convs[-1].param(CONV_NUM_OUTPUT))
    num_out, rest = divmod(out_total, upscale * upscale)
    if rest or num_out < 1:
        raise CheckpointError(f"ncnn graph: the last conv's {out_total} outputs do not fit PixelShuffle x{upscale}")
    kwargs = {
        "num_in_ch": _input_channels(convs[0], _single_input(layers)),
        "num_out_ch": num_out,
        "num_feat": int(convs[0].param(CONV_NUM_OUTPUT)),
        "num_conv": len(convs) - 2,
        "upscale": upscale,
        "act_type": act_type,
    }
    return Recognised("srvgg", kwargs)


def recognise(graph: Graph) -> Recognised:
    """Which zoo architecture ``graph`` is, with its kwargs; ``CheckpointError`` if neither."""
    layers, trailing = split_trailing_resize(graph)
    counts = Counter(l.type for l in layers)
    if counts["PixelShuffle"]:
        found = recognise_srvgg(graph, layers)
    elif counts["Concat"]:
        found = recognise_rrdbnet(graph, layers)
    else:
        summary = ", ".join(f"{n} {t}" for t, n in counts.most_common(4))
        raise CheckpointError(f"ncnn graph is neither RRDBNet nor SRVGGNetCompact ({summary})")
    scale = found.arch_kwargs.get("scale", found.arch_kwargs.get("upscale"))
    for layer in trailing:
        mode, sh, sw = _interp(layer)
        found.notes.append(
            f"the ncnn graph ends with a {mode} resize x{sh:g}/x{sw:g} ({layer.name!r}) that is not part of "
            f"{found.arch}; the zoo network gives the unresized x{scale} output"
        )
    return found


# ---------------------------------------------------------------------------------------------
# Entry point

OFFICIAL_NAMES = {
    "rrdbnet": {k: k for k in ("num_in_ch", "num_out_ch", "num_feat", "num_block", "num_grow_ch", "scale")},
    "srvgg": {k: k for k in ("num_in_ch", "num_out_ch", "num_feat", "num_conv", "upscale", "act_type")},
}
FIXED_KWARGS = {"rrdbnet": {"unshuffle": 1}, "srvgg": {}}  # ncnn Real-ESRGAN RRDBNets have no pixel-unshuffle


def assign_in_order(weights: list[LayerWeight], target: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Pair the ``.bin`` arrays with ``target``'s keys in order; every shape must match exactly.

    ``target`` is a state dict (tensors or meta tensors) of the zoo network; returns
    ``{key: float32 torch.Tensor}`` in ``target``'s key order.
    """
    import torch

    if len(weights) != len(target):
        raise CheckpointError(f"{what} holds {len(weights)} weight arrays but the network has {len(target)} tensors")
    state_dict = {}
    for (key, tensor), w in zip(target.items(), weights):
        if tuple(tensor.shape) != w.array.shape:
            raise CheckpointError(
                f"{what}: {w.layer} {w.spec.role} has shape {list(w.array.shape)} but {key} is {list(tensor.shape)}"
            )
        state_dict[key] = torch.from_numpy(np.ascontiguousarray(w.array, dtype=np.float32))
    return state_dict


def _read_files(param_path: Path, bin_path: Path) -> tuple[str, bytes]:
    try:
        text = param_path.read_bytes().decode("utf-8")
        data = bin_path.read_bytes()
    except FileNotFoundError as exc:
        raise CheckpointError(f"no such file: {exc.filename}") from None
    except UnicodeDecodeError:
        raise CheckpointError(
            f"{param_path.name} is not a text ncnn .param (binary .param.bin files are not supported)"
        ) from None
    except OSError as exc:
        raise CheckpointError(f"cannot read {exc.filename}: {exc.strerror}") from None
    return text, data


def ncnn_pair(path: Path) -> tuple[Path, Path] | None:
    """The (.param, .bin) pair for either file of an ncnn model, or None if ``path`` is neither."""
    if path.suffix == ".param":
        return path, path.with_suffix(".bin")
    if path.suffix == ".bin" and path.with_suffix(".param").is_file():
        return path.with_suffix(".param"), path
    return None


def read_file(path: Path, official_kwargs: dict[str, Any] | None = None) -> Converted | None:
    """The ncnn model ``path`` is one file of, converted; None when it is not an ncnn file."""
    pair = ncnn_pair(Path(path))
    return None if pair is None else read_ncnn(*pair, official_kwargs=official_kwargs)


def read_ncnn(param_path: Path, bin_path: Path, official_kwargs: dict[str, Any] | None = None) -> Converted:
    """Read a Real-ESRGAN ncnn model (RRDBNet or SRVGGNetCompact) as a ``Converted``.

    The arch kwargs come from the graph (layer counts, conv sizes, PixelShuffle/Interp
    factors, activations); ``config`` (official constructor kwargs) may confirm them, and a
    contradiction is a ``CheckpointError``. The state dict holds float32 tensors (fp16 weights
    widened exactly) under the zoo arch's keys and loads strictly into ``build(arch, kwargs)``.
    """
    from ..archs import build

    param_path, bin_path = Path(param_path), Path(bin_path)
    text, data = _read_files(param_path, bin_path)
    graph = parse_param(text, what=param_path.name)
    try:
        found = recognise(graph)
    except CheckpointError as exc:
        raise CheckpointError(f"{param_path.name}: {exc}") from None
    kwargs = merge_official_config(found.arch_kwargs, official_kwargs, OFFICIAL_NAMES[found.arch], layout=f"ncnn {found.arch}")
    kwargs.update(FIXED_KWARGS[found.arch])
    weights = read_bin(graph, data, what=bin_path.name)
    target = build(found.arch, kwargs, meta=True).state_dict()  # only the key order and shapes are needed
    state_dict = assign_in_order(weights, target, bin_path.name)

    notes = [f"read from ncnn {param_path.name} ({len(graph.layers)} layers, {len(weights)} weight arrays)"]
    encodings = Counter(w.encoding for w in weights if w.spec.tagged)
    if encodings.get("fp16"):
        notes.append(
            f"{encodings['fp16']} of {sum(encodings.values())} convolution weights are stored as fp16 in the .bin "
            "(widened to float32; they differ from the original fp32 checkpoint by fp16 rounding)"
        )
    notes += found.notes
    return Converted(FAMILY, found.arch, kwargs, state_dict, LAYOUT, notes)
