"""Each setting is declared once (classifier.options): train.sh's, distill.sh's and
pretrain.sh's flags, the configs' validation and docs/flags.md all come from the field."""

from __future__ import annotations

import dataclasses

import pytest

from classifier.head_options import LOSSES
from classifier.options import flag_values, options_of
from classifier.pretraining.options import PretrainOptions
from classifier.training.training_config import TrainingConfig
from scripts import distill, flag_docs, pretrain, train


def test_docs_flags_md_is_what_the_declarations_generate():
    assert flag_docs.main(["--check"]) == 0, "run: python -m scripts.flag_docs"


@pytest.mark.parametrize("command, module", [("train", train), ("distill", distill)])
def test_every_declared_setting_is_a_flag_of_its_commands_with_its_default(command, module):
    parser = module.build_parser()
    flags = {a.dest: a for a in parser._actions}
    for f, declared in options_of(TrainingConfig):
        if command not in declared.commands:
            assert f.name not in flags or f.name == "clip_norm"
            continue
        assert f.name in flags, f"--{f.name} missing from {command}.sh"
        expected = declared.flag_defaults.get(command, f.default)
        assert flags[f.name].default == expected, f.name
    args = parser.parse_args(
        ["--output_dir=x", "--teacher_dir=t"] if command == "distill" else ["--output_dir=x"]
    )
    values = flag_values(args, TrainingConfig, command)
    if command == "train":
        values["learning_rate"] = 2e-5  # train.sh's default comes from --adapter
    config = TrainingConfig(**values)
    defaults = TrainingConfig(learning_rate=1e-4 if command == "distill" else 2e-5)
    assert config == defaults  # every flag's default is the config's


def test_loss_choices_come_from_the_heads():
    from classifier.heads import HEADS

    flags = {a.dest: a for a in train.build_parser()._actions}
    assert tuple(flags["loss"].choices) == LOSSES
    assert set(LOSSES) == {loss for head in HEADS.values() for loss in head.losses}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("learning_rate", 0.0, "learning_rate must be positive"),
        ("warmup_proportion", 1.5, r"warmup_proportion must be in \[0, 1\]"),
        ("gradient_accumulation_steps", 0, "--gradient_accumulation_steps must be at least 1"),
        ("calibration", "platt", "--calibration must be one of"),
        ("threshold_strategy", "best", "--threshold_strategy must be one of"),
        ("ema_decay", 1.0, r"--ema_decay must be in \(0, 1\)"),
        ("loss", "hinge", "loss must be one of"),
        ("adversarial", "pgd", "--adversarial must be 'fgm' or unset"),
    ],
)
def test_a_bad_value_is_refused_with_the_declared_message(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**{field: value})


def test_a_bad_flag_stops_at_the_command_line_naming_it(capsys):
    with pytest.raises(SystemExit) as stopped:
        train.build_parser().parse_args(["--output_dir=x", "--warmup_proportion=2"])
    assert stopped.value.code == 2
    assert "--warmup_proportion: expected a finite number >= 0 and <= 1, got '2'" in (
        capsys.readouterr().err
    )


def test_every_field_is_declared():
    """A field without a declaration would have no flag, no check and no docs row."""
    declared = {f.name for f, _ in options_of(TrainingConfig)}
    assert declared == {f.name for f in dataclasses.fields(TrainingConfig)}


def test_pretrain_flags_are_the_declared_options_with_their_defaults(monkeypatch):
    monkeypatch.delenv("BERT_BASE_DIR", raising=False)
    parser = pretrain.build_parser()
    flags = {a.dest: a for a in parser._actions}
    for f, declared in options_of(PretrainOptions):
        if "pretrain" not in declared.commands:
            assert f.name not in flags, f.name
            continue
        assert f.name in flags, f"--{f.name} missing from pretrain.sh"
        assert flags[f.name].required == declared.required, f.name
        if not declared.required:
            assert flags[f.name].default == f.default, f.name
    assert flags["config_file"].option_strings == ["--bert_config_file", "--config_file"]
    args = parser.parse_args(["--input_file=c.txt", "--output_dir=o"])
    assert pretrain.options_from_args(args) == PretrainOptions(input_file="c.txt", output_dir="o")


def test_pretrain_model_dir_defaults_to_bert_base_dir(monkeypatch):
    monkeypatch.setenv("BERT_BASE_DIR", "/models/bert")
    args = pretrain.build_parser().parse_args(["--input_file=c.txt", "--output_dir=o"])
    assert pretrain.options_from_args(args).model_dir == "/models/bert"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("max_seq_length", 4, "--max_seq_length must be at least 8"),
        ("masked_lm_prob", 1.0, r"--masked_lm_prob must be in \(0, 1\)"),
        ("masking", "span", "--masking must be one of"),
        ("num_warmup_steps", 20, r"--num_warmup_steps must be in \[0, num_train_steps\]"),
        ("output_format", "onnx", "--output_format must be one of"),
        ("save_checkpoints_steps", 0, "--save_checkpoints_steps must be at least 1"),
    ],
)
def test_pretrain_options_refuse_bad_values_with_the_declared_message(field, value, message):
    with pytest.raises(ValueError, match=message):
        PretrainOptions(input_file="c", output_dir="o", num_train_steps=10, **{field: value})


def test_every_pretrain_field_but_the_adapter_config_is_declared():
    declared = {f.name for f, _ in options_of(PretrainOptions)}
    fields = {f.name for f in dataclasses.fields(PretrainOptions)}
    assert fields - declared == {"adapter_config"}  # the adapter flags' table declares it


def test_distill_student_and_loss_flags_are_the_declared_options():
    from classifier.distillation.config import DistillConfig

    parser = distill.build_parser()
    flags = {a.dest: a for a in parser._actions}
    for f, _ in options_of(DistillConfig):
        assert f.name in flags, f"--{f.name} missing from distill.sh"
        assert flags[f.name].default == f.default, f.name
    args = parser.parse_args(["--output_dir=x", "--teacher_dir=t", "--student_layers=1,3"])
    options = distill.options_from_args(args)
    assert options.distill == DistillConfig(student_layers=(1, 3))
    with pytest.raises(ValueError, match="not all 0"):
        DistillConfig(kd_loss_weight=0.0)
