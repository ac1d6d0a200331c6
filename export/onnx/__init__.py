"""The ONNX export: the classifier's graph written from its trained weights (token ids ->
logits), onnxruntime's transformer fusions applied, in a versioned folder with the settings
the serving side needs (export.onnx.writer.export_onnx_model; export.sh --format=onnx).

    encoder_weights: the trained Keras model's weights as numpy, per block call
    encoder_graph:   those weights as a standard-ONNX graph laid out for the fusions
    fusion:          onnxruntime.transformers' BERT fusions and what they fused
    writer:          the version folder (model.onnx, vocab, labels, metadata.json, card)
"""
