"""The trained classifier's weights as plain numpy arrays, in the order the encoder runs them.

The ONNX graph is built from this description (export.onnx.encoder_graph), never from Keras
objects, so the graph code needs neither TensorFlow nor Keras. Each weight is read from its
layer by attribute and its shape asserted; the blocks are listed per *call* (ALBERT runs one
shared block at several layers, and a call may carry its own adapters), in execution order.

Adapters: LoRA is merged into each call's query/value kernels (W + scale A·B; per call, so
ALBERT's shared blocks work too); bottleneck adapters (houlsby, pfeiffer, adapter_drop,
compacter) are listed at their hook points with their down/up projections. Other kinds
change the backbone's outputs or combine several adapters (k_adapter, knowledge, fusion) and
are refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np

from classifier.adapters import AdaptedBackbone
from classifier.adapters.bottleneck_adapters import BottleneckModule
from classifier.adapters.lora import LoraModule
from classifier.backbones.albert_embeddings import AlbertEmbeddings
from classifier.backbones.bert_embeddings import BertEmbeddings
from classifier.backbones.transformer_block import TransformerBlock

ONNX_ADAPTER_KINDS = ("lora", "houlsby", "pfeiffer", "adapter_drop", "compacter")


class UnsupportedModelError(ValueError):
    """A trained model the ONNX exporter cannot express (named in the message)."""


@dataclass(frozen=True)
class Dense:
    kernel: np.ndarray  # [in, out]
    bias: np.ndarray | None  # [out]


@dataclass(frozen=True)
class LayerNorm:
    gamma: np.ndarray
    beta: np.ndarray
    epsilon: float


@dataclass(frozen=True)
class BlockWeights:
    """One TransformerBlock's weights (shared by every call of the block)."""

    name: str
    query: Dense
    key: Dense
    value: Dense
    attention_output: Dense
    attention_norm: LayerNorm
    intermediate: Dense
    output: Dense
    output_norm: LayerNorm
    activation: str
    num_heads: int
    norm_first: bool


@dataclass(frozen=True)
class Bottleneck:
    """A bottleneck adapter: output + up(act(down(output)))."""

    down: Dense
    up: Dense
    activation: str


@dataclass(frozen=True)
class BlockCall:
    """One run of a block at one position, with what adapters add there."""

    position: int
    layer_index: int
    block: BlockWeights
    query_delta: np.ndarray | None = None  # merged LoRA update of this call's query kernel
    value_delta: np.ndarray | None = None
    adapters: dict[str, Bottleneck] = field(default_factory=dict)  # hook point -> adapter


@dataclass(frozen=True)
class Embeddings:
    """word + position + token type, LayerNorm; ALBERT's E -> H projection after the LayerNorm
    (google layout) or on the word vectors before the sum (``project_words``: brightmart)."""

    word: np.ndarray  # [vocab, E]
    position: np.ndarray  # [max_positions, E or H]
    token_type: np.ndarray  # [type_vocab, E or H]
    norm: LayerNorm
    projection: Dense | None = None
    project_words: bool = False


@dataclass(frozen=True)
class EncoderWeights:
    """Everything the graph needs: token ids -> logits."""

    embeddings: Embeddings
    calls: list[BlockCall]
    pooler: Dense
    head: Dense
    hidden_size: int
    num_heads: int

    @property
    def num_labels(self) -> int:
        return int(self.head.kernel.shape[1])


def _array(variable, shape: tuple[int, ...], what: str) -> np.ndarray:
    value = np.asarray(keras.ops.convert_to_numpy(variable), np.float32)
    if value.shape != shape:
        raise ValueError(f"{what}: shape {value.shape}, expected {shape}")
    return value


def _dense(layer, in_size: int, out_size: int, what: str) -> Dense:
    """A Keras Dense (or a PHM projection, whose kernel() computes W) as kernel and bias."""
    if getattr(layer, "quantization_mode", None):
        raise UnsupportedModelError(f"{what} is quantized; ONNX export reads float32 weights")
    kernel = layer.kernel() if callable(layer.kernel) else layer.kernel
    bias = getattr(layer, "bias", None)
    return Dense(
        _array(kernel, (in_size, out_size), f"{what} kernel"),
        None if bias is None else _array(bias, (out_size,), f"{what} bias"),
    )


def _layer_norm(layer: keras.layers.LayerNormalization, size: int, what: str) -> LayerNorm:
    if getattr(layer, "rms_scaling", False) or not (layer.center and layer.scale):
        raise UnsupportedModelError(f"{what}: only a plain LayerNorm (scale and centre) exports")
    return LayerNorm(
        _array(layer.gamma, (size,), f"{what} gamma"),
        _array(layer.beta, (size,), f"{what} beta"),
        float(layer.epsilon),
    )


def _block(block: TransformerBlock) -> BlockWeights:
    h, i, name = block.hidden_size, block.intermediate_size, block.name
    return BlockWeights(
        name=name,
        query=_dense(block.query, h, h, f"{name}/query"),
        key=_dense(block.key, h, h, f"{name}/key"),
        value=_dense(block.value, h, h, f"{name}/value"),
        attention_output=_dense(block.attention_output, h, h, f"{name}/attention_output"),
        attention_norm=_layer_norm(block.attention_layer_norm, h, f"{name}/attention_layer_norm"),
        intermediate=_dense(block.intermediate, h, i, f"{name}/intermediate"),
        output=_dense(block.output_dense, i, h, f"{name}/output"),
        output_norm=_layer_norm(block.output_layer_norm, h, f"{name}/output_layer_norm"),
        activation=block.hidden_act,
        num_heads=block.num_attention_heads,
        norm_first=block.norm_first,
    )


def _embeddings(layer) -> Embeddings:
    if isinstance(layer, AlbertEmbeddings):
        inner = _embeddings(layer.embeddings)
        e, project_words = layer.embedding_size, layer.layout == "brightmart"
        projection = _dense(layer.projection, e, layer.hidden_size, "embeddings/projection")
        return Embeddings(
            inner.word, inner.position, inner.token_type, inner.norm, projection, project_words
        )
    if not isinstance(layer, BertEmbeddings):
        raise UnsupportedModelError(f"embeddings of type {type(layer).__name__} do not export")
    e, width = layer.embedding_size, layer.position_size
    return Embeddings(
        word=_array(layer.word_embeddings.embeddings, (layer.vocab_size, e), "word embeddings"),
        position=_array(
            layer.position_embeddings,
            (layer.max_position_embeddings, width),
            "position embeddings",
        ),
        token_type=_array(
            layer.token_type_embeddings.embeddings,
            (layer.type_vocab_size, width),
            "token type embeddings",
        ),
        norm=_layer_norm(layer.layer_norm, width, "embeddings/layer_norm"),
    )


def _bottleneck(adapter, hidden: int, activation: str, what: str) -> Bottleneck:
    size = int(adapter.size)
    return Bottleneck(
        down=_dense(adapter.down, hidden, size, f"{what}/down"),
        up=_dense(adapter.up, size, hidden, f"{what}/up"),
        activation=activation,
    )


def _adapter_parts(adapted: AdaptedBackbone) -> tuple[dict, dict]:
    """(LoRA deltas by (position, point), bottleneck adapters by (position, point))."""
    module = adapted.adapter
    kind = adapted.adapter_config.kind
    if isinstance(module, LoraModule):
        deltas = {
            site: update.merged_delta().astype(np.float32)
            for site, update in module.site_updates().items()
        }
        return deltas, {}
    if isinstance(module, BottleneckModule):
        module.begin_call(False)  # inference: AdapterDrop's fixed n, not a sampled one
        hidden = module.sites.hidden_size
        adapters = {}
        for (position, point), layer in module.site_adapters().items():
            gate = module.gate(position, None)
            if not isinstance(gate, float):
                raise UnsupportedModelError(f"{kind}: an inference-time gate that is not fixed")
            if gate == 0.0:
                continue
            if gate != 1.0:
                raise UnsupportedModelError(f"{kind}: adapter gate {gate} (only 0 or 1 export)")
            what = f"{kind} adapter {layer.name}"
            adapters[(position, point)] = _bottleneck(layer, hidden, module.config.activation, what)
        return {}, adapters
    raise UnsupportedModelError(
        f"--format=onnx exports plain models and the adapter kinds {', '.join(ONNX_ADAPTER_KINDS)}"
        f", not {kind}"
    )


def read_encoder_weights(model: keras.Model) -> EncoderWeights:
    """The weights of a TextClassifier (plain, LoRA merged or not, or bottleneck-adapted)."""
    backbone = model.backbone
    deltas: dict = {}
    adapters: dict = {}
    positions = None
    if isinstance(backbone, AdaptedBackbone):
        deltas, adapters = _adapter_parts(backbone)
        positions = backbone.sites
        backbone = backbone.backbone
    hidden = int(backbone.hidden_size)
    blocks: dict[int, BlockWeights] = {}
    calls = []
    for rank, (block, layer_index) in enumerate(backbone.block_sequence()):
        if id(block) not in blocks:
            blocks[id(block)] = _block(block)
        position = rank if positions is None else positions.position(block, layer_index)
        calls.append(
            BlockCall(
                position=position,
                layer_index=layer_index,
                block=blocks[id(block)],
                query_delta=deltas.get((position, "attention_query")),
                value_delta=deltas.get((position, "attention_value")),
                adapters={
                    point: adapter
                    for (where, point), adapter in adapters.items()
                    if where == position
                },
            )
        )
    heads = {call.block.num_heads for call in calls}
    if len(heads) != 1 or hidden % next(iter(heads)):
        raise UnsupportedModelError(f"attention heads {sorted(heads)} do not divide {hidden}")
    head = model.head.dense
    return EncoderWeights(
        embeddings=_embeddings(backbone.embeddings),
        calls=calls,
        pooler=_dense(backbone.pooler, hidden, hidden, "pooler"),
        head=_dense(head, hidden, int(head.units), "classification head"),
        hidden_size=hidden,
        num_heads=next(iter(heads)),
    )
