"""Rewrites the int8 ONNX graph so that its weight-only int8 matrix products run as int8 kernels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def int8_matmul_model(path: Path) -> bytes:
    """The ONNX model at ``path`` with its weight-only int8 matrix products turned into int8 kernels.

    The file stores a weight ``W`` as ``Mul(Cast(W_q: int8), scale)`` feeding a ``MatMul``; onnxruntime
    would fold that back into an fp32 matrix. Each such ``MatMul`` (and the bias ``Add`` after it) becomes
    one ``com.microsoft.DynamicQuantizeMatMul`` over ``W_q`` and its per-column scale, which quantises the
    activations per call and multiplies in int8 (VNNI where the CPU has it). Any other pattern is kept.
    Two exact simplifications follow (see ``_simplify``): the erf GELU becomes one ``Gelu`` kernel, and
    the NaN guards after each attention softmax go.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {out.name for out in graph.output}

    removed: set[int] = set()
    replacement: dict[int, Any] = {}
    new_initializers = []
    for node in graph.node:
        if node.op_type != "MatMul" or len(node.input) != 2:
            continue
        mul = producer.get(node.input[1])
        if mul is None or mul.op_type != "Mul" or len(consumers.get(mul.output[0], [])) != 1:
            continue
        cast = producer.get(mul.input[0])
        scale = initializers.get(mul.input[1])
        if cast is None or cast.op_type != "Cast" or scale is None or cast.input[0] not in initializers:
            continue
        weight = numpy_helper.to_array(initializers[cast.input[0]])
        scales = numpy_helper.to_array(scale)
        if weight.dtype != np.int8 or weight.ndim != 2 or scales.size not in (1, weight.shape[1]):
            continue
        if scales.size > 1 and scales.shape[-1] != weight.shape[1]:
            continue  # a scale per row, not per column: keep the fp32 product
        scale_name = f"{mul.input[1]}__per_column"
        new_initializers.append(numpy_helper.from_array(scales.reshape(-1).astype(np.float32), scale_name))
        inputs = [node.input[0], cast.input[0], scale_name]
        outputs = list(node.output)
        users = consumers.get(node.output[0], [])
        if len(users) == 1 and users[0].op_type == "Add" and node.output[0] not in graph_outputs:
            add = users[0]
            bias_name = next((name for name in add.input if name != node.output[0]), "")
            bias = initializers.get(bias_name)
            if bias is not None and list(bias.dims) == [weight.shape[1]]:
                inputs += ["", bias_name]  # no zero point (symmetric), then the bias
                outputs = list(add.output)
                removed.add(id(add))
        replacement[id(node)] = helper.make_node(
            "DynamicQuantizeMatMul", inputs, outputs, name=f"{node.name}_int8", domain="com.microsoft"
        )
        removed.update((id(mul), id(cast)))

    nodes = [replacement.get(id(node), node) for node in graph.node if id(node) not in removed]
    nodes = _simplify(nodes, initializers, {out.name for out in graph.output})
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(new_initializers)
    if not any(op.domain == "com.microsoft" for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return bytes(model.SerializeToString())


def _simplify(nodes: list[Any], initializers: dict[str, Any], graph_outputs: set[str]) -> list[Any]:
    """Exact rewrites of the exported BERT graph that onnxruntime does not find by itself.

    - ``x * ((erf(x / sqrt(2)) + 1) * 0.5)`` becomes ``com.microsoft.Gelu(x)``, the same function.
    - ``Where(IsNaN(p), 0, p)`` after ``p = Softmax(...)`` goes: a softmax row is NaN only when every key
      is masked, and every input keeps at least its ``[CLS]`` and ``[SEP]`` tokens unmasked.
    """
    from onnx import helper, numpy_helper

    constants = {
        node.output[0]: numpy_helper.to_array(node.attribute[0].t)
        for node in nodes
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value"
    }

    def constant(name: str) -> float | None:
        value = constants.get(name)
        if value is None and name in initializers:
            value = numpy_helper.to_array(initializers[name])
        return float(value) if value is not None and value.size == 1 else None

    producer = {out: node for node in nodes for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def only_user(name: str, op_type: str) -> Any:
        users = consumers.get(name, [])
        if len(users) == 1 and users[0].op_type == op_type and name not in graph_outputs:
            return users[0]
        return None

    def other(node: Any, name: str) -> str:
        return next((i for i in node.input if i != name), "")

    removed: set[int] = set()
    added: dict[int, Any] = {}
    rename: dict[str, str] = {}
    for node in nodes:
        if node.op_type == "Erf":
            div = producer.get(node.input[0])
            if div is None or div.op_type != "Div" or only_user(div.output[0], "Erf") is None:
                continue
            x = div.input[0]
            divisor = constant(div.input[1])
            add = only_user(node.output[0], "Add")
            half = only_user(add.output[0], "Mul") if add is not None else None
            times_x = only_user(half.output[0], "Mul") if half is not None else None
            if (
                divisor is None
                or abs(divisor - 2**0.5) > 1e-4
                or add is None
                or half is None
                or times_x is None
                or constant(other(add, node.output[0])) != 1.0
                or constant(other(half, add.output[0])) != 0.5
                or other(times_x, half.output[0]) != x
            ):
                continue
            gelu = helper.make_node(
                "Gelu", [x], list(times_x.output), name=f"{node.name}_gelu", domain="com.microsoft"
            )
            added[id(times_x)] = gelu
            removed.update((id(div), id(node), id(add), id(half)))
        elif node.op_type == "Where" and len(node.input) == 3:
            guard = producer.get(node.input[0])
            probabilities = node.input[2]
            source = producer.get(probabilities)
            if (
                guard is not None
                and guard.op_type == "IsNaN"
                and guard.input[0] == probabilities
                and source is not None
                and source.op_type == "Softmax"
                and constant(node.input[1]) == 0.0
                and node.output[0] not in graph_outputs
                and len(consumers.get(guard.output[0], [])) == 1
            ):
                rename[node.output[0]] = probabilities
                removed.update((id(node), id(guard)))

    out = []
    for node in nodes:
        if id(node) in removed:
            continue
        node = added.get(id(node), node)
        for position, name in enumerate(node.input):
            if name in rename:
                node.input[position] = rename[name]
        out.append(node)
    return out
