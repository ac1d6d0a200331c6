"""The classifier as an ONNX graph: token ids -> logits, built node by node from its weights.

Why build it rather than convert: tf2onnx, the TensorFlow converter, is unmaintained and
does not support TensorFlow 2.21, and no other maintained converter reads a Keras 3 model;
torch is no dependency of this project. The architecture is small and fixed
(google-research/bert's, ALBERT's embeddings and sharing, bottleneck adapters at hook
points), and every weight has a known place (export.onnx.encoder_weights), so the graph is
written directly, in standard ONNX ops (opset 17), and laid out the way torch.onnx emits
transformers' BertModel: the layout onnxruntime.transformers' BERT fusions recognise
(export.onnx.fusion then turns it into Attention, SkipLayerNormalization, Gelu/FastGelu and
EmbedLayerNormalization nodes). Nothing here imports TensorFlow or Keras.

Inputs: input_ids, attention_mask, token_type_ids (int32 [batch, sequence], both axes
dynamic). Output: logits (float32 [batch, labels]), the raw logits; temperatures, sigmoid or
softmax, thresholds and decisions are the serving side's (recorded in metadata.json).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

if TYPE_CHECKING:  # the description's types only: reading the weights needs Keras, this not
    from export.onnx.encoder_weights import BlockCall, Bottleneck, Dense, EncoderWeights, LayerNorm

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "logits"
MASK_VALUE = -10000.0  # google-research/bert's additive mask (classifier.backbones)


class GraphBuilder:
    """Nodes and initializers under readable, unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self._taken: set[str] = set()

    def const(self, name: str, value, dtype=np.float32) -> str:
        """An initializer; the same name twice must hold the same value (shared weights)."""
        array = np.asarray(value, dtype)
        if name in self._arrays:
            if not np.array_equal(self._arrays[name], array):
                raise ValueError(f"initializer {name} given two different values")
            return name
        self._arrays[name] = array
        self.initializers[name] = numpy_helper.from_array(array, name)
        return name

    def scalar(self, value: float) -> str:
        return self.const(f"const/{value!r}", value)

    def ints(self, name: str, values) -> str:
        return self.const(f"const/{name}", values, np.int64)

    def node(
        self, op: str, inputs: list[str], name: str, output: str | None = None, **attributes
    ) -> str:
        """Adds one node named ``name`` (made unique); returns its output's name."""
        unique, n = name, 1
        while unique in self._taken:
            n += 1
            unique = f"{name}_{n}"
        self._taken.add(unique)
        output = output or f"{unique}:0"
        self.nodes.append(helper.make_node(op, inputs, [output], name=unique, **attributes))
        return output

    # === Layers ===
    def dense(self, x: str, dense: Dense, name: str, output: str | None = None) -> str:
        """x W + b as MatMul then Add (the pattern every fusion expects)."""
        return self.bias(self.matmul(x, dense, name), dense, name, output)

    def matmul(self, x: str, dense: Dense, name: str, kernel: np.ndarray | None = None) -> str:
        weights = self.const(f"{name}/kernel", dense.kernel if kernel is None else kernel)
        return self.node("MatMul", [x, weights], f"{name}/MatMul")

    def bias(self, x: str, dense: Dense, name: str, output: str | None = None) -> str:
        if dense.bias is None:
            return x
        bias = self.const(f"{name}/bias", dense.bias)
        return self.node("Add", [x, bias], f"{name}/Add", output)

    def layer_norm(self, x: str, norm: LayerNorm, name: str) -> str:
        gamma = self.const(f"{name}/gamma", norm.gamma)
        beta = self.const(f"{name}/beta", norm.beta)
        return self.node(
            "LayerNormalization",
            [x, gamma, beta],
            f"{name}/LayerNorm",
            axis=-1,
            epsilon=norm.epsilon,
        )

    def activation(self, x: str, kind: str, name: str) -> str:
        """classifier.backbones.activations' functions, in the forms the fusions match."""
        if kind == "gelu_exact":  # x (1 + erf(x / sqrt 2)) / 2: fused into Gelu
            erf = self.node(
                "Erf",
                [self.node("Div", [x, self.scalar(math.sqrt(2.0))], f"{name}/Div")],
                f"{name}/Erf",
            )
            one_plus = self.node("Add", [erf, self.scalar(1.0)], f"{name}/Add")
            return self.node(
                "Mul",
                [self.node("Mul", [x, one_plus], f"{name}/Mul"), self.scalar(0.5)],
                f"{name}/Mul_half",
            )
        if kind == "gelu_tanh":  # x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): FastGelu
            cube = self.node("Pow", [x, self.scalar(3.0)], f"{name}/Pow")
            inner = self.node(
                "Add",
                [x, self.node("Mul", [cube, self.scalar(0.044715)], f"{name}/Mul_cube")],
                f"{name}/Add_inner",
            )
            tanh = self.node(
                "Tanh",
                [
                    self.node(
                        "Mul", [inner, self.scalar(math.sqrt(2.0 / math.pi))], f"{name}/Mul_scale"
                    )
                ],
                f"{name}/Tanh",
            )
            one_plus = self.node("Add", [tanh, self.scalar(1.0)], f"{name}/Add")
            half = self.node("Mul", [x, self.scalar(0.5)], f"{name}/Mul_half")
            return self.node("Mul", [half, one_plus], f"{name}/Mul")
        if kind == "relu":
            return self.node("Relu", [x], f"{name}/Relu")
        if kind == "tanh":
            return self.node("Tanh", [x], f"{name}/Tanh")
        if kind == "swish":
            return self.node(
                "Mul", [x, self.node("Sigmoid", [x], f"{name}/Sigmoid")], f"{name}/Mul"
            )
        raise ValueError(f"activation {kind!r} has no ONNX form here")

    def model(self, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto]):
        graph = helper.make_graph(
            self.nodes, "zh_textclf_encoder", inputs, outputs, list(self.initializers.values())
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="zh-textclf",
        )
        model.ir_version = 8  # what opset 17 needs; readable by every onnxruntime since 1.13
        return model


def _embeddings(g: GraphBuilder, weights: EncoderWeights) -> str:
    """The embedding sum and LayerNorm as torch.onnx exports BertEmbeddings (position ids a
    slice of a constant [1, max_positions] row, as long as input_ids)."""
    emb = weights.embeddings
    words = g.node(
        "Gather", [g.const("embeddings/word", emb.word), "input_ids"], "embeddings/word/Gather"
    )
    if emb.project_words:  # brightmart ALBERT: E -> H before the position and type vectors
        words = g.dense(words, emb.projection, "embeddings/projection")
    types = g.node(
        "Gather",
        [g.const("embeddings/token_type", emb.token_type), "token_type_ids"],
        "embeddings/token_type/Gather",
    )
    length = g.node(
        "Gather",
        [g.node("Shape", ["input_ids"], "embeddings/Shape"), g.const("const/one", 1, np.int64)],
        "embeddings/length",
    )
    ends = g.node("Unsqueeze", [length, g.ints("axes_0", [0])], "embeddings/Unsqueeze")
    table = np.arange(emb.position.shape[0], dtype=np.int64)[None, :]
    positions = g.node(
        "Slice",
        [
            g.const("embeddings/position_ids", table, np.int64),
            g.ints("zero_1", [0]),
            ends,
            g.ints("one_1", [1]),
            g.ints("one_1", [1]),
        ],
        "embeddings/position_ids",
    )
    position = g.node(
        "Gather",
        [g.const("embeddings/position", emb.position), positions],
        "embeddings/position/Gather",
    )
    summed = g.node(
        "Add",
        [g.node("Add", [words, types], "embeddings/Add"), position],
        "embeddings/Add_position",
    )
    x = g.layer_norm(summed, emb.norm, "embeddings/layer_norm")
    if emb.projection is not None and not emb.project_words:  # google ALBERT: E -> H after
        x = g.dense(x, emb.projection, "embeddings/projection")
    return x


def _attention_bias(g: GraphBuilder) -> str:
    """(1 - mask) * -10000 as [batch, 1, 1, keys], computed once for every layer."""
    mask = g.node("Unsqueeze", ["attention_mask", g.ints("axes_1", [1])], "mask/Unsqueeze")
    mask = g.node("Unsqueeze", [mask, g.ints("axes_2", [2])], "mask/Unsqueeze_2")
    mask = g.node("Cast", [mask], "mask/Cast", to=TensorProto.FLOAT)
    inverted = g.node("Sub", [g.scalar(1.0), mask], "mask/Sub")
    return g.node("Mul", [inverted, g.scalar(MASK_VALUE)], "mask/Mul")


def _with_adapter(
    g: GraphBuilder, x: str, dense: Dense, adapter: Bottleneck | None, name: str, where: str
) -> str:
    """x W + b (weights ``name``, the block's), plus a bottleneck adapter's up(act(down(.)))
    on it where this call has one (named ``where``: adapters are per call, blocks may be
    shared).

    With an adapter the sum is written MatMul + (b + adapter): the residual Add then still
    has a MatMul + Add parent, the shape ORT's attention fusion looks for (x W + b is
    computed once more, for the adapter's input; one Add)."""
    product = g.matmul(x, dense, name)
    out = g.bias(product, dense, name)
    if adapter is None:
        return out
    hidden = g.activation(
        g.dense(out, adapter.down, f"{where}/down"), adapter.activation, f"{where}/act"
    )
    delta = g.dense(hidden, adapter.up, f"{where}/up")
    if dense.bias is not None:
        delta = g.node("Add", [delta, g.const(f"{name}/bias", dense.bias)], f"{where}/Add_bias")
    return g.node("Add", [product, delta], f"{where}/Add")


def _block(g: GraphBuilder, x: str, bias: str, call: BlockCall, weights: EncoderWeights) -> str:
    block = call.block
    heads, hidden = weights.num_heads, weights.hidden_size
    size = hidden // heads
    name = f"layer_{call.position}"
    split = g.ints(f"heads_{heads}_{size}", [0, 0, heads, size])

    def projection(x_in: str, dense: Dense, delta, part: str, perm: list[int]) -> str:
        kernel = None if delta is None else dense.kernel + delta
        # a merged LoRA kernel is this call's own; a plain one is the block's (shared)
        prefix = f"{name}/{part}" if delta is not None else f"{block.name}/{part}"
        out = g.bias(g.matmul(x_in, dense, prefix, kernel), dense, prefix)
        out = g.node("Reshape", [out, split], f"{name}/{part}/Reshape")
        return g.node("Transpose", [out], f"{name}/{part}/Transpose", perm=perm)

    attn_in = (
        g.layer_norm(x, block.attention_norm, f"{block.name}/attention_norm")
        if block.norm_first
        else x
    )
    q = projection(attn_in, block.query, call.query_delta, "query", [0, 2, 1, 3])
    k = projection(attn_in, block.key, None, "key", [0, 2, 3, 1])
    v = projection(attn_in, block.value, call.value_delta, "value", [0, 2, 1, 3])
    scores = g.node("MatMul", [q, k], f"{name}/attention/scores")
    scores = g.node("Div", [scores, g.scalar(math.sqrt(size))], f"{name}/attention/Div")
    probs = g.node(
        "Softmax",
        [g.node("Add", [scores, bias], f"{name}/attention/Add_mask")],
        f"{name}/attention/Softmax",
        axis=-1,
    )
    context = g.node("MatMul", [probs, v], f"{name}/attention/context")
    context = g.node("Transpose", [context], f"{name}/attention/Transpose", perm=[0, 2, 1, 3])
    context = g.node(
        "Reshape",
        [context, g.ints(f"hidden_{hidden}", [0, 0, hidden])],
        f"{name}/attention/Reshape",
    )
    attn = _with_adapter(
        g,
        context,
        block.attention_output,
        call.adapters.get("attention_output"),
        f"{block.name}/attention_output",
        f"{name}/attention_output/adapter",
    )
    if block.norm_first:
        x = g.node("Add", [attn, x], f"{name}/attention/residual")
        ffn_in = g.layer_norm(x, block.output_norm, f"{block.name}/output_norm")
    else:
        x = g.layer_norm(
            g.node("Add", [attn, x], f"{name}/attention/residual"),
            block.attention_norm,
            f"{block.name}/attention_norm",
        )
        ffn_in = x
    hidden_ffn = g.activation(
        g.dense(ffn_in, block.intermediate, f"{block.name}/intermediate"),
        block.activation,
        f"{name}/ffn/act",
    )
    ffn = _with_adapter(
        g,
        hidden_ffn,
        block.output,
        call.adapters.get("ffn_output"),
        f"{block.name}/output",
        f"{name}/ffn_output/adapter",
    )
    out = g.node("Add", [ffn, x], f"{name}/ffn/residual")
    if block.norm_first:
        return out
    return g.layer_norm(out, block.output_norm, f"{block.name}/output_norm")


def build_encoder_graph(weights: EncoderWeights) -> onnx.ModelProto:
    """The standard-ONNX graph of the classifier (before fusion), checked by onnx.checker."""
    g = GraphBuilder()
    x = _embeddings(g, weights)
    bias = _attention_bias(g)
    for call in weights.calls:
        x = _block(g, x, bias, call, weights)
    first = g.node("Gather", [x, g.const("const/zero", 0, np.int64)], "pooler/first_token", axis=1)
    pooled = g.node("Tanh", [g.dense(first, weights.pooler, "pooler")], "pooler/Tanh")
    g.dense(pooled, weights.head, "classification_head", output=OUTPUT_NAME)
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT32, ["batch", "sequence"])
        for name in INPUT_NAMES
    ]
    output = helper.make_tensor_value_info(
        OUTPUT_NAME, TensorProto.FLOAT, ["batch", weights.num_labels]
    )
    model = g.model(inputs, [output])
    onnx.checker.check_model(model)
    return model
