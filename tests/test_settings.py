"""One source of truth: the settings' metadata, the CLI built from it, and the README."""

from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path

import pytest

from clipdraw_core import cli
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.setting import check_value

README = Path(__file__).resolve().parents[1] / "README.md"

#: The original CLIPDraw's numbers (docs/reference.md); our defaults must stay these.
ORIGINAL = {
    "num_paths": 256,
    "min_segments": 1,
    "max_segments": 3,
    "width": 224,
    "height": 224,
    "background": (1.0, 1.0, 1.0),
    "num_steps": 1000,
    "num_augs": 4,
    "init_half_width": 1.0,
    "lr_points": 1.0,
    "lr_width": 0.1,
    "lr_color": 0.01,
    "lr_schedule": "step",
    "min_half_width": 1.0,
    "max_half_width": 50.0,
    "perspective_distortion": 0.5,
    "crop_scale": (0.7, 0.9),
    "negative_prompts": (),
    "negative_weight": 0.3,
    "model_name": "ViT-B-32",
    "weights": "openai",
    # options the original does not have are off
    "temperature": 1.0,
    "grad_clip": None,
    "l2_points": 0.0,
    "l2_colors": 0.0,
    "smoothness": 0.0,
    "diversity": 0.0,
    "extra_prompts": (),
}


def _help_text() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main(["--help"])
    return out.getvalue()


def _cli_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Command line")
    return text[start : text.index("\n## ", start + 1)]


def test_defaults_are_the_original_clipdraw():
    cfg = SessionConfig()
    assert {k: getattr(cfg, k) for k in ORIGINAL} == ORIGINAL
    assert cfg.validate() is cfg


def test_every_field_has_a_described_setting_that_accepts_its_default():
    settings = SessionConfig.settings()
    assert [s.name for s in settings] == list(SessionConfig.__dataclass_fields__)
    for s in settings:
        assert s.label and s.help, s.name
        check_value(s, s.default)
        if s.minimum is not None and s.maximum is not None:
            assert s.minimum <= s.maximum


def test_every_cli_option_is_in_help_defaults_to_the_field_and_is_in_the_readme():
    parser = cli.build_parser()
    actions = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
    help_text, section = _help_text(), _cli_section()
    with_cli = [s for s in SessionConfig.settings() if s.cli]
    assert len(with_cli) >= 14
    for s in with_cli:
        assert s.cli in help_text, s.cli
        assert re.search(rf"`{re.escape(s.cli)}[` ]", section), f"{s.cli} missing from the README"
        action = actions[s.cli]
        if s.name == "num_paths":  # None = "fill the 256-stroke budget": 256 without a seed
            assert action.default is None
            args = parser.parse_args(["cat", "-o", "x.svg"])
            assert cli._config_from_args(args, num_seeded=0).num_paths == s.default
        elif s.name == "negative_prompts":
            assert tuple(action.default) == s.default
        else:
            assert action.default == s.default, s.cli
        if s.choices:
            assert tuple(action.choices) == s.choices
        if s.name == "width":  # --size W[xH] sets width and height (cli._ADAPTED)
            assert action.type is cli.parse_size
        elif s.scalar in (int, float):
            assert action.type is s.scalar


def test_options_set_their_fields():
    parser = cli.build_parser()
    argv = ["cat", "-o", "x.svg", "--steps", "7", "--size", "96", "--seed", "4294967295"]
    argv += ["--negative", "a", "b", "--default-negatives", "--lr-schedule", "cosine", "--grad-clip", "1.5"]
    argv += ["--temperature", "0.5", "--augs", "2", "--samples", "3", "--device", "cpu", "--paths", "9"]
    cfg = cli._config_from_args(parser.parse_args(argv), num_seeded=0)
    assert (cfg.num_steps, cfg.width, cfg.height, cfg.seed, cfg.num_paths) == (7, 96, 96, 2**32 - 1, 9)
    assert cfg.negative_prompts == ("a", "b", "A badly drawn sketch.", "Many ugly, messy drawings.")
    assert (cfg.lr_schedule, cfg.grad_clip, cfg.temperature, cfg.num_augs) == ("cosine", 1.5, 0.5, 2)
    assert (cfg.render_samples, cfg.device) == (3, "cpu")
    with_seed = cli._config_from_args(parser.parse_args(["cat", "-o", "x.svg"]), num_seeded=100)
    assert with_seed.num_paths == 156


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"seed": -1}, "seed (--seed) must be an integer between 0 and 4294967295"),
        ({"seed": 2**64}, "between 0 and 4294967295"),
        ({"seed": 1.5}, "integer"),
        ({"num_augs": True}, "integer"),
        ({"negative_weight": math.inf}, "finite"),
        ({"negative_weight": 11.0}, "between 0 and 10"),
        ({"perspective_distortion": 1.5}, "between 0 and 1"),
        ({"background": (1.0, 1.0)}, "3 values"),
        ({"background": (1.0, 2.0, 1.0)}, "between 0 and 1"),
        ({"crop_scale": (0.0, 0.5)}, "crop scale"),
        ({"min_segments": 4}, "min <= max"),
        ({"grad_clip": 0.0}, "gradient clipping"),
        ({"model_name": 3}, "text"),
    ],
)
def test_generic_checks(changes, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        SessionConfig(**changes).validate()


def test_device_choices_are_open_to_cuda_n():
    assert SessionConfig(device="cuda:1").validate().device == "cuda:1"
    with pytest.raises(SystemExit):
        with contextlib.redirect_stderr(io.StringIO()):
            cli.build_parser().parse_args(["cat", "-o", "x.svg", "--device", "tpu"])
