"""The known Chinese BERT/ALBERT checkpoints: what each is, what its folder holds, how to train.

The user brings the folder and passes it as --model_dir, or names the preset (or its Hugging
Face Hub id), which is then read from the Hugging Face cache (classifier.checkpoints.hub_cache);
the family, format and naming scheme are detected from the files. This table documents what to expect and
is rendered into docs/model_zoo.md (``python -m classifier.presets > docs/model_zoo.md``; a test
keeps the two equal). ``verified`` says which facts were checked against public sources.
"""

from __future__ import annotations

from dataclasses import dataclass

CHINESE_VOCAB = 21128  # Google's Chinese BERT vocab.txt, reused by HFL and both ALBERT lines

TF1_BERT_FILES = (
    "bert_config.json",
    "bert_model.ckpt.data-00000-of-00001",
    "bert_model.ckpt.index",
    "bert_model.ckpt.meta",
    "vocab.txt",
)
HF_PYTORCH_FILES = ("config.json", "pytorch_model.bin", "vocab.txt")


@dataclass(frozen=True)
class Preset:
    """One released checkpoint and the train.sh line that fine-tunes it."""

    name: str
    title: str
    family: str  # "bert" | "albert"
    publisher: str
    scheme: str  # naming scheme of the files listed in ``files``
    num_hidden_layers: int
    hidden_size: int
    num_attention_heads: int
    intermediate_size: int
    files: tuple[str, ...]  # the release folder (TF1 unless ``scheme`` is hf_*)
    folder: str  # the folder name the archive unpacks to (or a suggested one)
    vocab_size: int = CHINESE_VOCAB
    embedding_size: int | None = None
    hf_repo: str | None = None  # Hugging Face Hub repository, if any
    hf_files: tuple[str, ...] = ()
    hf_aliases: tuple[str, ...] = ()  # older ids of hf_repo whose cache folders are read too
    notes: str = ""
    verified: str = ""
    learning_rate: float = 2e-5
    num_train_epochs: float = 3.0
    train_batch_size: int = 32

    @property
    def names(self) -> tuple[str, ...]:
        """What --model_dir accepts for this preset: its name and, with a Hub repository, that
        repository's name with and without the leading "chinese-" (``roberta-wwm-ext`` for
        hfl/chinese-roberta-wwm-ext)."""
        names = [self.name]
        for repo in (self.hf_repo, *self.hf_aliases) if self.hf_repo else ():
            short = repo.rsplit("/", 1)[-1]
            names += [short, short.removeprefix("chinese-")]
        return tuple(dict.fromkeys(names))

    @property
    def formats(self) -> tuple[str, ...]:
        tf1 = ("tf1",) if not self.scheme.startswith("hf_") else ()
        return tf1 + (("hf",) if self.hf_repo else ())

    def train_line(self, model_dir: str | None = None, pytorch_pickle: bool = False) -> str:
        """The train.sh command for this checkpoint (``pytorch_pickle`` for a .bin-only folder)."""
        model_dir = model_dir or f"$MODELS/{self.folder}"
        parts = [
            "scripts/train.sh --task_name=tsv --do_train --do_eval --do_predict",
            "--data_dir=$DATA_DIR",
            f"--model_dir={model_dir}",
            f"--output_dir=output/{self.name}",
            "--max_seq_length=128",
            f"--train_batch_size={self.train_batch_size}",
            f"--learning_rate={self.learning_rate:g}",
            f"--num_train_epochs={self.num_train_epochs:g}",
        ]
        if pytorch_pickle:
            parts.append("--allow_pytorch_pickle")
        return " ".join(parts)


def _hfl_tf1(name: str, title: str, folder: str, layers: int, hidden: int, repo: str, **kw):
    heads, inter = (16, 4096) if hidden == 1024 else (12, 3072)
    return Preset(
        name=name,
        title=title,
        family="bert",
        publisher="HFL (ymcui/Chinese-BERT-wwm)",
        scheme="google_bert_tf1",
        num_hidden_layers=layers,
        hidden_size=hidden,
        num_attention_heads=heads,
        intermediate_size=inter,
        files=kw.pop("files", TF1_BERT_FILES),
        folder=folder,
        hf_repo=repo,
        hf_files=HF_PYTORCH_FILES,
        **kw,
    )


PRESETS: tuple[Preset, ...] = (
    Preset(
        name="google_bert_base_chinese",
        title="BERT-Base, Chinese (Google)",
        family="bert",
        publisher="Google (google-research/bert)",
        scheme="google_bert_tf1",
        num_hidden_layers=12,
        hidden_size=768,
        num_attention_heads=12,
        intermediate_size=3072,
        files=TF1_BERT_FILES,
        folder="chinese_L-12_H-768_A-12",
        hf_repo="google-bert/bert-base-chinese",
        hf_files=("config.json", "model.safetensors", "vocab.txt"),
        hf_aliases=("bert-base-chinese",),
        verified="sizes, vocab and TF1 files: google-research/bert README and the HFL README",
    ),
    _hfl_tf1(
        "hfl_chinese_bert_wwm",
        "BERT-wwm, Chinese",
        "chinese_wwm_L-12_H-768_A-12",
        12,
        768,
        "hfl/chinese-bert-wwm",
        notes="Whole word masking; bert_config.json and vocab.txt identical to Google's.",
        verified="sizes and files: HFL README (zip contents listed there)",
    ),
    _hfl_tf1(
        "hfl_chinese_bert_wwm_ext",
        "BERT-wwm-ext, Chinese",
        "chinese_wwm_ext_L-12_H-768_A-12",
        12,
        768,
        "hfl/chinese-bert-wwm-ext",
        verified="sizes: HFL README; files: as BERT-wwm (same release tooling)",
    ),
    _hfl_tf1(
        "hfl_chinese_roberta_wwm_ext",
        "RoBERTa-wwm-ext, Chinese",
        "chinese_roberta_wwm_ext_L-12_H-768_A-12",
        12,
        768,
        "hfl/chinese-roberta-wwm-ext",
        notes=(
            "A BERT architecture with BERT names, bert_config.json and vocab.txt: it is loaded "
            "as BERT (never as RobertaModel; HFL says so too)."
        ),
        verified="sizes: HFL README; files: as BERT-wwm",
    ),
    _hfl_tf1(
        "hfl_chinese_roberta_wwm_ext_large",
        "RoBERTa-wwm-ext-large, Chinese",
        "chinese_roberta_wwm_large_ext_L-24_H-1024_A-16",
        24,
        1024,
        "hfl/chinese-roberta-wwm-ext-large",
        notes="BERT-large architecture, loaded as BERT.",
        verified="sizes: HFL README (BERT-large: 24 layers, 1024 hidden, 16 heads); folder and "
        "files: seen in public training scripts",
        train_batch_size=16,
    ),
    _hfl_tf1(
        "hfl_rbt3",
        "RBT3, Chinese",
        "chinese_rbt3_L-3_H-768_A-12",
        3,
        768,
        "hfl/rbt3",
        notes="The first 3 layers of RoBERTa-wwm-ext, further trained; loaded as BERT.",
        verified="layers and hidden: HFL README; folder name not verified",
    ),
    _hfl_tf1(
        "hfl_rbtl3",
        "RBTL3, Chinese",
        "chinese_rbtl3_L-3_H-1024_A-16",
        3,
        1024,
        "hfl/rbtl3",
        notes="The first 3 layers of RoBERTa-wwm-ext-large, further trained; loaded as BERT.",
        verified="layers and hidden: HFL README; heads/intermediate follow BERT-large; folder "
        "name not verified",
    ),
    _hfl_tf1(
        "hfl_chinese_macbert_base",
        "MacBERT-base, Chinese",
        "chinese_macbert_base",
        12,
        768,
        "hfl/chinese-macbert-base",
        files=(
            "chinese_macbert_base.ckpt.data-00000-of-00001",
            "chinese_macbert_base.ckpt.index",
            "chinese_macbert_base.ckpt.meta",
            "macbert_base_config.json",
            "vocab.txt",
        ),
        notes="A BERT architecture (MLM as correction); loaded as BERT. Config and checkpoint "
        "names differ from Google's: they are found by pattern.",
        verified="folder and file names: seen in public training scripts; sizes: BERT-base",
    ),
    _hfl_tf1(
        "hfl_chinese_macbert_large",
        "MacBERT-large, Chinese",
        "chinese_macbert_large",
        24,
        1024,
        "hfl/chinese-macbert-large",
        files=(
            "chinese_macbert_large.ckpt.data-00000-of-00001",
            "chinese_macbert_large.ckpt.index",
            "chinese_macbert_large.ckpt.meta",
            "macbert_large_config.json",
            "vocab.txt",
        ),
        notes="BERT-large architecture, loaded as BERT.",
        verified="sizes: BERT-large; file names by analogy with MacBERT-base (not verified)",
        train_batch_size=16,
    ),
    Preset(
        name="google_albert_base_zh",
        title="ALBERT-base, Chinese (Google)",
        family="albert",
        publisher="Google (google-research/albert)",
        scheme="google_albert_tf1",
        num_hidden_layers=12,
        hidden_size=768,
        num_attention_heads=12,
        intermediate_size=3072,
        embedding_size=128,
        files=(
            "albert_config.json",
            "model.ckpt-best.data-00000-of-00001",
            "model.ckpt-best.index",
            "model.ckpt-best.meta",
            "vocab_chinese.txt",
        ),
        folder="albert_base",
        hf_repo="voidful/albert_chinese_base",
        hf_files=HF_PYTORCH_FILES,
        notes="albert_base_zh.tar.gz unpacks to albert_base/; the parent folder works as "
        "--model_dir too. One parameter group shared by all 12 layers. The Hub copy is "
        "voidful's conversion of this release to transformers' ALBERT.",
        verified="file names: google-research/albert usage in public scripts; sizes: ALBERT-base "
        "(12/768/12/3072, E=128); vocab size assumed equal to Google's Chinese BERT; Hub copy: "
        "its model card (converted from Google's release) and file list",
    ),
    Preset(
        name="google_albert_large_zh",
        title="ALBERT-large, Chinese (Google)",
        family="albert",
        publisher="Google (google-research/albert)",
        scheme="google_albert_tf1",
        num_hidden_layers=24,
        hidden_size=1024,
        num_attention_heads=16,
        intermediate_size=4096,
        embedding_size=128,
        files=(
            "albert_config.json",
            "model.ckpt-best.data-00000-of-00001",
            "model.ckpt-best.index",
            "model.ckpt-best.meta",
            "vocab_chinese.txt",
        ),
        folder="albert_large",
        verified="file names: as albert_base_zh; sizes: ALBERT-large (24/1024/16/4096, E=128)",
        train_batch_size=16,
    ),
    Preset(
        name="brightmart_albert_tiny_zh",
        title="albert_tiny_zh (brightmart)",
        family="albert",
        publisher="brightmart (brightmart/albert_zh)",
        scheme="brightmart_albert_tf1",
        num_hidden_layers=4,
        hidden_size=312,
        num_attention_heads=12,
        intermediate_size=1248,
        embedding_size=128,
        files=(
            "albert_config_tiny.json",
            "albert_model.ckpt.data-00000-of-00001",
            "albert_model.ckpt.index",
            "albert_model.ckpt.meta",
            "vocab.txt",
        ),
        folder="albert_tiny_zh",
        notes="brightmart naming (word_embeddings_2, layer_shared); post-LN (its config says "
        "ln_type postln). brightmart suggests learning rates 2e-5, 6e-5 or 1e-4 and 5 epochs.",
        verified="sizes and ln_type: the albert_config_tiny.json that lonePatient/albert_pytorch "
        "ships; variable names and shapes: a published variable listing of albert_tiny",
        learning_rate=1e-4,
        num_train_epochs=5.0,
        train_batch_size=64,
    ),
    Preset(
        name="brightmart_albert_tiny_zh_google",
        title="albert_tiny_zh_google (brightmart, Google naming)",
        family="albert",
        publisher="brightmart (brightmart/albert_zh)",
        scheme="google_albert_tf1",
        num_hidden_layers=4,
        hidden_size=312,
        num_attention_heads=12,
        intermediate_size=1248,
        embedding_size=128,
        files=(
            "albert_config_tiny_g.json",
            "albert_model.ckpt.data-00000-of-00001",
            "albert_model.ckpt.index",
            "albert_model.ckpt.meta",
            "vocab.txt",
        ),
        folder="albert_tiny_zh_google",
        hf_repo="voidful/albert_chinese_tiny",
        hf_files=HF_PYTORCH_FILES,
        notes="Trained with google-research/albert's code, so Google names (bert/encoder/"
        "transformer/group_0/...); the *_google builds are what bert4keras loads. The Hub copy "
        "is voidful's conversion of this release to transformers' ALBERT.",
        verified="file names and variable names/shapes: public scripts and a published variable "
        "listing; config values taken from that listing (H 312, I 1248, E 128); Hub copy: its "
        "model card (albert_tiny_google_zh converted)",
        learning_rate=1e-4,
        num_train_epochs=5.0,
        train_batch_size=64,
    ),
    Preset(
        name="brightmart_albert_base_zh",
        title="albert_base_zh (brightmart)",
        family="albert",
        publisher="brightmart (brightmart/albert_zh)",
        scheme="brightmart_albert_tf1",
        num_hidden_layers=12,
        hidden_size=768,
        num_attention_heads=12,
        intermediate_size=3072,
        embedding_size=128,
        files=(
            "albert_config_base.json",
            "albert_model.ckpt.data-00000-of-00001",
            "albert_model.ckpt.index",
            "albert_model.ckpt.meta",
            "vocab.txt",
        ),
        folder="albert_base_zh",
        notes="brightmart naming, post-LN. albert_base_zh_additional_36k_steps has the same "
        "layout. If your zip lacks the config, use albert_config/albert_config_base.json from "
        "the albert_zh repository.",
        verified="sizes: albert_config/albert_config_base.json in brightmart/albert_zh; "
        "checkpoint name: albert_model.ckpt (bert-for-tf2 docs); config file name in the zip "
        "not verified",
    ),
)


def get_preset(name: str) -> Preset:
    for preset in PRESETS:
        if preset.name == name:
            return preset
    known = ", ".join(p.name for p in PRESETS)
    raise ValueError(f"unknown preset {name!r}; known: {known}")


def render_markdown() -> str:
    """docs/model_zoo.md, generated from PRESETS."""
    lines = [
        "# Model zoo: Chinese BERT and ALBERT checkpoints",
        "",
        "<!-- Generated by `python -m classifier.presets > docs/model_zoo.md`; edit",
        "classifier/presets.py instead (tests/test_presets.py keeps the two equal). -->",
        "",
        "Bring the folder you downloaded and pass it as `--model_dir`; nothing else is needed.",
        "A checkpoint on the Hugging Face Hub can be named instead, by its id or its preset's",
        "name (`--model_dir=hfl/chinese-roberta-wwm-ext`, `--model_dir=roberta-wwm-ext`): it is",
        "read from the Hugging Face cache, and downloaded there first unless `HF_HUB_OFFLINE=1`.",
        "The family (BERT or ALBERT) is read from the config file, the format from the files",
        "(TF1 checkpoint, `model.safetensors`, sharded `model.safetensors.index.json`, or",
        "`pytorch_model.bin`) and the naming scheme from the variable names:",
        "",
        "| Scheme | Recognised by | Used by |",
        "| --- | --- | --- |",
        "| google_bert_tf1 | `bert/encoder/layer_0/...` | Google BERT, all HFL models (TF) |",
        "| google_albert_tf1 | `bert/encoder/transformer/group_0/inner_group_0/...` "
        "| Google albert_*_zh, brightmart *_google |",
        "| brightmart_albert_tf1 | `bert/embeddings/word_embeddings_2`, "
        "`bert/encoder/layer_shared/...` | brightmart albert_tiny_zh, albert_base_zh, ... |",
        "| hf_bert | `encoder.layer.0...` (with or without `bert.`, LayerNorm gamma/beta too) "
        "| Hugging Face BertModel / BertFor* |",
        "| hf_albert | `encoder.albert_layer_groups.0...` (with or without `albert.`) "
        "| Hugging Face AlbertModel / AlbertFor* |",
        "",
        "A folder whose names fit no scheme fails with the list of expected signatures.",
        "`pytorch_model.bin` is a pickle: it is read only with `--allow_pytorch_pickle` (and",
        "torch installed); otherwise convert it once with `scripts/convert_checkpoint.sh`.",
        "Hugging Face's `tf_model.h5` is not read: use the repository's safetensors or .bin.",
        "",
        "Activations: Google's and brightmart's `\"gelu\"` is the tanh approximation; Hugging",
        'Face\'s `"gelu"` is the exact erf form (`"gelu_new"` is the tanh one). Each config is',
        "read with its own format's meaning.",
        "",
        "## Checkpoints",
        "",
        "| Preset | Family | Layers | Hidden | Heads | Intermediate | Embedding | Vocab "
        "| Scheme (TF1 files) | HF Hub |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in PRESETS:
        lines.append(
            f"| {p.title} | {p.family} | {p.num_hidden_layers} | {p.hidden_size} | "
            f"{p.num_attention_heads} | {p.intermediate_size} | {p.embedding_size or '-'} | "
            f"{p.vocab_size} | {p.scheme} | {p.hf_repo or '-'} |"
        )
    for p in PRESETS:
        lines += ["", f"### {p.title}", "", f"Preset `{p.name}`, published by {p.publisher}."]
        if p.hf_repo:
            names = ", ".join(f"`{n}`" for n in (p.hf_repo, *p.names))
            lines += ["", f"`--model_dir` names (read from the Hugging Face cache): {names}."]
        lines += ["", f"Folder `{p.folder}/`:", ""]
        lines += [f"- `{name}`" for name in p.files]
        if p.hf_repo:
            hub = ", ".join(f"`{name}`" for name in p.hf_files)
            lines += ["", f"Hugging Face Hub `{p.hf_repo}`: {hub} (plus tokenizer files)."]
        if p.notes:
            lines += ["", p.notes]
        lines += ["", "```bash", p.train_line(), "```"]
        if p.hf_repo:
            pickle = "pytorch_model.bin" in p.hf_files
            lines += [
                "",
                "From the Hugging Face cache (downloaded there on first use"
                + ("; a .bin only, see above):" if pickle else "):"),
                "",
                "```bash",
                p.train_line(p.hf_repo, pytorch_pickle=pickle),
                "```",
            ]
        lines += ["", f"Checked: {p.verified}."]
    lines += [
        "",
        "## Converting",
        "",
        "```bash",
        "scripts/convert_checkpoint.sh --input_dir $MODELS/chinese_L-12_H-768_A-12 \\",
        "    --output_dir $MODELS/chinese_L-12_H-768_A-12_hf      # TF1 -> config.json + "
        "model.safetensors",
        "scripts/convert_checkpoint.sh --input_dir $MODELS/rbt3 --output_dir "
        "$MODELS/rbt3_safetensors \\",
        "    --to hf --allow_pytorch_pickle                        # pytorch_model.bin -> "
        "safetensors",
        "```",
        "",
        "Tensors are copied exactly (TF1 -> HF -> TF1 gives byte-identical tensors); heads are",
        "dropped. brightmart's own naming has no transformers equivalent (its embeddings add",
        "width-H position tables after a bias-free projection) and is refused; train from it",
        "as it is. Tiny folders in every layout: `python -m scripts.make_tiny_checkpoint --family",
        "bert|albert|albert_brightmart --format tf1|hf`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
