"""Texts, vocabs and batches the tests share."""

from __future__ import annotations

CHINESE_SAMPLES = [
    "今天天气很好，我们去公园散步吧！",
    "这家餐厅的菜太难吃了，服务也很差。",
    "苹果发布了新款iPhone手机",
    "中國的繁體字也應該被正確處理。",
    "2019年NBA总决赛",
    "好",
]


def tiny_vocab() -> list[str]:
    from classifier.text.vocab import build_tiny_chinese_vocab

    return build_tiny_chinese_vocab(extra_texts=CHINESE_SAMPLES)


ZOO_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def zoo_vocab() -> list[str]:
    """Special tokens, ASCII letters and digits, and every character of CHINESE_SAMPLES."""
    chars = sorted({c for text in CHINESE_SAMPLES for c in text.lower()} - {" "})
    ascii_ = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    return ZOO_SPECIAL_TOKENS + sorted(set(chars) | set(ascii_))


def padded_batch(vocab_size: int, seed: int = 0):
    """token_ids, segment_ids, padding_mask [4, 12]: three rows padded, two with a second segment."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = [12, 9, 5, 3]
    token_ids = np.zeros((4, 12), np.int32)
    segment_ids = np.zeros_like(token_ids)
    mask = np.zeros_like(token_ids)
    for row, length in enumerate(lengths):
        token_ids[row, :length] = rng.integers(5, vocab_size, length)
        token_ids[row, 0], token_ids[row, length - 1] = 2, 3  # [CLS] ... [SEP]
        mask[row, :length] = 1
        if row < 2:
            segment_ids[row, length // 2 : length] = 1
    return token_ids, segment_ids, mask


SERVING_TEXTS = [
    "中超第6轮，浙江队5比0逆转武汉三镇，继续领跑积分榜",
    "5G基站总数突破117万个，多模态AI模型应用加速落地",
    "网络综艺《歌手之夜》播放量破3.2亿，观众好评如潮",
    "央行宣布降准0.5个百分点，A股三大指数集体高开",
    "Hello世界 naïve Ωmega 123",
    "物流很快，隔天就到，售后态度很差",
]


# Demo data sets whose characters the demo BERT's vocab covers.
DEMO_DATA_DIRS = ("data/demo", "data/demo_multilabel")
