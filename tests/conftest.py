"""Shared fixtures: a tiny, random-initialised but real open_clip model.

No weights can be downloaded in tests, and ViT-B/32 is too slow for a unit test on a
2-core CPU. So we write a small open_clip model config (same architecture family:
ViT image tower, transformer text tower, 224 px input), create the model with random
weights through open_clip, save its state_dict to a checkpoint file, and load it back
through :func:`clipdraw_core.clip.clip_model.load_clip` -- the same code path users take with
a local weights file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# ``--precision auto`` calibrates by timing, which must not decide what a test computes;
# the precision tests clear this to exercise the calibration itself.
os.environ.setdefault("CLIPDRAW_AUTO_PRECISION", "fp32")
# One intra-op thread: tests are small, and on a shared 2-core machine two OpenMP
# threads that lose their core to another process make every small op ~10x slower.
torch.set_num_threads(1)

TINY_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
TINY_NAME = "clipdraw-test-tiny"


def write_tiny_clip(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write the tiny model's config JSON and a random checkpoint into ``folder``."""
    import open_clip

    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / f"{TINY_NAME}.json"
    config_path.write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(config_path)
    torch.manual_seed(seed)
    model = open_clip.create_model(TINY_NAME, pretrained=None)
    checkpoint = folder / "tiny_clip.pt"
    torch.save(model.state_dict(), checkpoint)
    return config_path, checkpoint


@pytest.fixture(scope="session")
def tiny_clip_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(model_config_json, checkpoint)`` of a tiny random open_clip model."""
    return write_tiny_clip(tmp_path_factory.mktemp("tiny_clip"))


@pytest.fixture(scope="session")
def tiny_clip(tiny_clip_files: tuple[Path, Path]):
    """The tiny model loaded on the CPU through the users' loading code."""
    from clipdraw_core.clip.clip_model import load_clip

    config_path, checkpoint = tiny_clip_files
    return load_clip(str(config_path), str(checkpoint), device="cpu")
