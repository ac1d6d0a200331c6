"""Each setting declared once: a dataclass field carries its flag (help, parser, range, which
commands have it) and its validation, and the argparse flags, the config's checks and the
docs' flag tables are generated from it.

    learning_rate: float = option(2e-5, "peak learning rate", parse=positive_float,
                                  check=lambda v: v > 0, message="learning_rate must be positive")

    add_flags(parser, TrainingConfig, "train")      # every field train.sh has, as --flags
    TrainingConfig(**flag_values(args, TrainingConfig, "train"))
    validate(config)                                # in __post_init__: each field's check
    flag_table(TrainingConfig, "train")             # the Markdown table docs/ shows
"""

from classifier.options.option import (
    Option,
    add_flags,
    flag_table,
    flag_values,
    option,
    options_of,
    validate,
)

__all__ = [
    "Option",
    "add_flags",
    "flag_table",
    "flag_values",
    "option",
    "options_of",
    "validate",
]
