"""What a model may hold: pure tensor operations only, never file, network, process or code.

A frozen graph or a SavedModel is a program: TensorFlow runs whatever operations it names,
and some of them write or read files (`WriteFile`, `ReadFile`), list folders
(`MatchingFiles`), run Python (`PyFunc`) or print to a file (`PrintV2`). So every graph is
checked against an allowlist of pure tensor operations before TensorFlow imports it, at
upload and at every load; the refusal names the first operation outside it. Function
libraries are checked too (a `tf.function`, a `tf.cond` branch, a call naming a bare op).

A SavedModel's own variable restore (`RestoreV2`) is allowed only in the part of the graph
its `saver_def`'s restore op reaches and nothing else does; its save (`SaveV2`, ...) only
in the part its save tensor alone reaches (which loading never runs).
A TFLite model's built-in operations are pure; custom operations are refused, and Flex
(select TF) ones unless their TensorFlow operation is on the same allowlist.

This module reads the protocol buffers models.py parses; it imports no TensorFlow itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .errors import ModelLoadError, UnsafeModel


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


ALLOWED_OPS = _names("""
Abs Acos Acosh Add AddN AddV2 All Any ApproximateEqual ArgMax ArgMin Asin Asinh Assert Atan
Atan2 Atanh AvgPool AvgPool3D BatchMatMul BatchMatMulV2 BatchMatMulV3
BatchNormWithGlobalNormalization BatchToSpace BatchToSpaceND BiasAdd BiasAddV1 Bitcast
BitwiseAnd BitwiseOr BitwiseXor BroadcastArgs BroadcastGradientArgs BroadcastTo Bucketize
Cast Ceil CheckNumerics ClipByValue Complex ComplexAbs Concat ConcatOffset ConcatV2 Const
Conv2D Conv2DBackpropInput Conv3D Conv3DBackpropInputV2 Cos Cosh Cumprod Cumsum
DecodeBmp DecodeGif DecodeImage DecodeJpeg DecodePng DepthToSpace DepthwiseConv2dNative
DepthwiseConv2dNativeBackpropInput Dequantize Diag DiagPart Dilation2D DisableCopyOnRead Div
DivNoNan Einsum Elu Empty EnsureShape Enter Equal Erf Erfc Exit Exp ExpandDims Expm1
ExtractImagePatches FakeQuantWithMinMaxArgs FakeQuantWithMinMaxVars
FakeQuantWithMinMaxVarsPerChannel Fill Floor FloorDiv FloorMod FusedBatchNorm
FusedBatchNormV2 FusedBatchNormV3 FusedPadConv2D FusedResizeAndPadConv2D Gather GatherNd
GatherV2 Gelu Greater GreaterEqual GuaranteeConst Identity IdentityN If Imag InTopKV2 Inv
InvertPermutation IsFinite IsInf IsNan IsVariableInitialized L2Loss LRN LeakyRelu
LeftShift Less LessEqual Lgamma LinSpace Log Log1p LogSoftmax LogicalAnd LogicalNot
LogicalOr LoopCond MatMul MatrixBandPart MatrixDiag MatrixDiagPart MatrixDiagPartV3
MatrixDiagV3 MatrixSetDiag MatrixSetDiagV3 Max MaxPool MaxPool3D MaxPoolV2 Maximum Mean
Merge Min Minimum MirrorPad Mod Mul MulNoNan Neg NextIteration NoOp NonMaxSuppressionV3
NonMaxSuppressionV4 NonMaxSuppressionV5 NotEqual OneHot OnesLike Pack Pad PadV2
PartitionedCall Placeholder PlaceholderWithDefault PopulationCount Pow PreventGradient Prod
QuantizeAndDequantizeV2 QuantizeAndDequantizeV3 QuantizeAndDequantizeV4 QuantizeV2 Range
Rank ReadVariableOp Real RealDiv Reciprocal Relu Relu6 Reshape ResizeArea ResizeBicubic
ResizeBilinear ResizeNearestNeighbor Reverse ReverseSequence ReverseV2 RightShift Rint Round
Rsqrt ScatterNd Select SelectV2 Selu Shape ShapeN Sigmoid Sign Sin Sinh Size Slice
Snapshot Softmax Softplus Softsign SpaceToBatch SpaceToBatchND SpaceToDepth Split SplitV
Sqrt Square SquaredDifference Squeeze StatefulPartitionedCall StatelessIf StatelessWhile
StopGradient StridedSlice Sub Sum Switch Tan Tanh TensorScatterUpdate Tile TopKV2 Transpose
TruncateDiv TruncateMod Unique Unpack UnsortedSegmentMax UnsortedSegmentMin
UnsortedSegmentSum VarHandleOp VarIsInitializedOp VariableV2 Where While Xdivy Xlog1py
Xlogy ZerosLike
AssignVariableOp Assign
""")
# A SavedModel's own variables checkpoint: restoring in the part its saver_def's restore op
# alone reaches (what TF1 loading runs), saving only in the part its save tensor alone reaches.
RESTORE_OPS = _names("Restore RestoreSlice RestoreV2")
SAVE_OPS = _names("""
MergeV2Checkpoints Save SaveSlices SaveV2 ShardedFilename ShardedFilespec
StaticRegexFullMatch StringJoin
""")
_TFLITE_CUSTOM = 32  # BuiltinOperator.CUSTOM in the TFLite schema
_RULE = ("a model may hold only pure tensor operations (no file, network, process or "
         "Python-code operations)")

Unit = tuple[str, str]  # ("node", name) for a graph's top-level node, ("function", name)


def check_graph_def(graph_def: Any, what: str) -> None:
    """Refuse a GraphDef (and its function library) holding an op outside ALLOWED_OPS."""
    _check(graph_def, {}, what)


def check_saved_model(saved_model: Any, what: str) -> None:
    """Refuse a SavedModel whose graphs hold an op outside ALLOWED_OPS (save/restore aside)."""
    for meta in saved_model.meta_graphs:
        saver = meta.saver_def
        roots = {_node_name(saver.save_tensor_name): SAVE_OPS,
                 _node_name(saver.restore_op_name): RESTORE_OPS}
        _check(meta.graph_def, {("node", n): ops for n, ops in roots.items() if n}, what)


def check_tflite(data: bytes, what: str,
                 flex_node: Callable[[bytes], Any] | None = None) -> None:
    """Refuse a TFLite model with a custom op, or a Flex op outside ALLOWED_OPS.

    `flex_node` parses a Flex op's serialized NodeDef (TensorFlow's proto, from models.py),
    so the operation TensorFlow would really run is checked, not only the op's label.
    """
    from ai_edge_litert import schema_py_generated as schema

    try:
        model = schema.Model.GetRootAs(data, 0)
        codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
        used = {op.OpcodeIndex() for g in range(model.SubgraphsLength())
                for op in _operators(model.Subgraphs(g))}
        custom = {i: (codes[i].CustomCode() or b"").decode("utf-8", "replace")
                  for i in used if max(codes[i].BuiltinCode(),
                                       codes[i].DeprecatedBuiltinCode()) == _TFLITE_CUSTOM}
    except Exception as exc:  # a damaged flatbuffer fails in many ways
        raise ModelLoadError(f"{what}: cannot load it: not a readable TFLite model "
                             f"({type(exc).__name__})") from None
    for index, code in sorted(custom.items()):
        if not code.startswith("Flex"):
            raise UnsafeModel(f"{what}: holds the custom TFLite operation {code!r}, which "
                              f"Pinpoint does not run: {_RULE}")
        _check_flex(model, index, code, what, flex_node)


def _operators(subgraph: Any) -> Iterator[Any]:
    return (subgraph.Operators(i) for i in range(subgraph.OperatorsLength()))


def _check_flex(model: Any, index: int, code: str, what: str,
                flex_node: Callable[[bytes], Any] | None) -> None:
    """A Flex op runs the NodeDef in its options: check that op, whatever the label says."""
    _refuse_unless_allowed(code[len("Flex"):], code, what)
    for g in range(model.SubgraphsLength()):
        for op in _operators(model.Subgraphs(g)):
            if op.OpcodeIndex() == index:
                node = _flex_node_def(op, flex_node)
                if node is None:
                    raise UnsafeModel(f"{what}: its Flex operation {code!r} cannot be checked "
                                      f"(no readable NodeDef): {_RULE}")
                for name in (node.op, *_func_names(node)):
                    _refuse_unless_allowed(name, code, what)


def _flex_node_def(op: Any, flex_node: Callable[[bytes], Any] | None) -> Any:
    from flatbuffers import flexbuffers

    try:  # custom options: a FlexBuffer vector [op name, serialized NodeDef]
        options = flexbuffers.GetRoot(bytes(op.CustomOptionsAsNumpy())).AsVector
        return flex_node(options[1].AsStringBytes) if flex_node else None
    except Exception:
        return None


def _refuse_unless_allowed(name: str, code: str, what: str) -> None:
    if name not in ALLOWED_OPS:
        raise UnsafeModel(f"{what}: holds the operation {name!r} (as the TFLite Flex "
                          f"operation {code!r}), which Pinpoint does not run: {_RULE}")


def _check(graph_def: Any, saver_roots: dict[Unit, frozenset[str]], what: str) -> None:
    functions = {f.signature.name: f for f in graph_def.library.function}
    nodes = {node.name: node for node in graph_def.node}
    units: dict[Unit, list[Any]] = {("node", n): [node] for n, node in nodes.items()}
    units |= {("function", n): list(f.node_def) for n, f in functions.items()}
    edges = {unit: set(_edges(unit, body, nodes, functions)) for unit, body in units.items()}
    extra = _saver_parts(saver_roots, units.keys(), edges)
    for unit, body in units.items():
        for node in body:
            for op in _ops_of(node, functions):
                if op not in ALLOWED_OPS and op not in extra.get(unit, ()):
                    place = f" in function {unit[1]!r}" if unit[0] == "function" else ""
                    raise UnsafeModel(f"{what}: holds the operation {op!r} (node "
                                      f"{node.name!r}{place}), which Pinpoint does not run: "
                                      f"{_RULE}")


def _saver_parts(roots: dict[Unit, frozenset[str]], units: Iterable[Unit],
                 edges: dict[Unit, set[Unit]]) -> dict[Unit, frozenset[str]]:
    """The ops each unit may hold besides ALLOWED_OPS: a saver root's ops, in the units that
    root reaches and nothing else does (so serving never runs them)."""
    extra: dict[Unit, frozenset[str]] = {}
    for root, ops in roots.items():
        if root not in edges:
            continue
        part = _closure([root], edges)
        elsewhere = _closure(set(units) - part, edges)
        for unit in part - elsewhere:
            extra[unit] = extra.get(unit, frozenset()) | ops
    return extra


def _ops_of(node: Any, functions: dict[str, Any]) -> Iterator[str]:
    """The primitive ops a node runs: its own (unless it calls a library function) and any
    op a function-valued attribute names directly (TensorFlow runs a bare op as a function)."""
    if node.op not in functions:
        yield node.op
    yield from (name for name in _func_names(node) if name not in functions)


def _edges(unit: Unit, body: list[Any], nodes: dict[str, Any],
           functions: dict[str, Any]) -> Iterator[Unit]:
    for node in body:
        yield from (("function", name) for name in (node.op, *_func_names(node))
                    if name in functions)
        if unit[0] == "node":
            yield from (("node", _node_name(i)) for i in node.input if _node_name(i) in nodes)


def _func_names(node: Any) -> Iterator[str]:
    """The function names a node's attributes hold (`f`, branches, loop bodies, lists)."""
    for value in node.attr.values():
        kind = value.WhichOneof("value")
        if kind == "func":
            yield value.func.name
            yield from _func_names(value.func)
        elif kind == "list":
            for func in value.list.func:
                yield func.name
                yield from _func_names(func)


def _closure(roots: Iterable[Unit], edges: dict[Unit, set[Unit]]) -> set[Unit]:
    seen: set[Unit] = set()
    todo = list(roots)
    while todo:
        unit = todo.pop()
        if unit not in seen:
            seen.add(unit)
            todo.extend(edges.get(unit, ()))
    return seen


def _node_name(tensor: str) -> str:
    """`^name`, `name:0` and `name` all name the node `name`."""
    return tensor.lstrip("^").split(":")[0]
