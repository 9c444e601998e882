"""Snapshots and edit commands as plain data (for a remote worker): round trips, no tensors."""

from __future__ import annotations

import pickle
import typing

import numpy as np
import pytest
import torch

from clipdraw_core.drawing.commands import (
    COMMAND_TYPES,
    AddFreehand,
    AddStrokes,
    Command,
    DeleteStrokes,
    Reorder,
    SetFrozen,
    SetImagePrompts,
    SetLook,
    SetPrompt,
    SetRegions,
    SetRespect,
    SetStrokeCount,
    SetStrokeStyle,
    SetStyle,
    TransformStrokes,
    UpdateStrokes,
    apply_to_drawing,
    command_from_plain,
)
from clipdraw_core.drawing.guidance import ImagePrompt, Region, StyleImage, normalise_png
from clipdraw_core.drawing.strokes import Anchor, Stroke, default_scene
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from clipdraw_core.optim.snapshot import Snapshot

PLAIN = (dict, list, str, int, float, bool, type(None), np.ndarray)


def assert_plain(value, path="value"):
    """Only dicts with text keys, lists, scalars and numpy arrays: nothing a pickle of code needs."""
    assert isinstance(value, PLAIN) and not isinstance(value, torch.Tensor), f"{path}: {type(value)}"
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), f"{path}: key {k!r}"
            assert_plain(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            assert_plain(v, f"{path}[{i}]")
    elif isinstance(value, np.ndarray):
        assert value.dtype.kind in "fiub", f"{path}: {value.dtype}"


def same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def sample_commands() -> list[Command]:
    scene = default_scene(0, num_paths=3)
    moved = Stroke(1, scene.strokes[1].points + 2.5, 3.0, (0.1, 0.2, 0.3, 0.5), True)
    new = Stroke(7, np.array([[1, 2], [3, 4], [5, 6], [7, 8]], np.float32), 1.5, (1, 0, 0, 1))
    line = np.array([[10.0, 10.0], [20.0, 12.0], [30.0, 18.0], [40.0, 30.0]])
    triangle = [[5.0, 5.0], [8.0, 5.0], [11.0, 5.0], [14.0, 5.0], [12.0, 8.0], [10.0, 11.0]]
    triangle += [[8.0, 14.0], [7.0, 11.0], [6.0, 8.0]]
    shape = Stroke(0, triangle, 1.0, (0, 0, 0, 1), fill=(0.2, 0.4, 0.6, 0.5), outlined=False)
    return [
        SetFrozen((0, 2), frozen=True),
        SetFrozen((1,), frozen=False),
        DeleteStrokes((2,)),
        AddStrokes((new,)),
        AddStrokes((new,), positions=(0,)),
        AddFreehand(9, line, half_width=2.0, color=(0, 0, 1, 1), frozen=True),
        AddFreehand(10, line, pressure=np.array([0.2, 0.5, 1.0, 0.7]), tolerance=0.5),
        UpdateStrokes((moved,)),
        SetPrompt("a dog", ("blurry",)),
        SetPrompt("a dog", (), prompt_weights=(0.5,), extra_prompts=("a ball",)),
        SetStrokeCount(5),
        SetPrompt("a dog", ("blurry",), prompt_weight=0.5, negative_weights=(0.8,)),
        SetImagePrompts((ImagePrompt("dot.png", _png(), -0.5),)),
        SetStyle(StyleImage("dot.png", _png(), 30.0, every=2)),
        SetStyle(None),
        SetRegions((Region.rect(3, 1, 2, 30, 40, "a sun", 1.5, "sun"),), region_views=3),
        SetRespect((0, 1), 0.5),
        SetRespect((1,), 0.25, (Anchor(scene.strokes[1].points + 1, 2.0, (0, 1, 0, 1)),)),
        SetLook.of(ink="#102030", min_half_width=0.5, background=(1.0, 1.0, 0.9)),
        SetLook.of(palette=("#000000", "#ffffff"), palette_mode="soft", transparent=True),
        UpdateStrokes((shape,)),
        TransformStrokes((0, 2), (1.0, 0.0, 3.0, 0.0, -1.0, 50.0)),
        SetStrokeStyle((1,), color=(0.2, 0.4, 0.6), opacity=0.5, half_width=2.0),
        SetStrokeStyle((1, 2), color=(0.2, 0.4, 0.6), fill=(0.2, 0.4, 0.6)),
        Reorder((2, 0), "exact"),
    ]


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 10, 10)).save(buf, format="PNG")
    return normalise_png(buf.getvalue())


def test_every_command_type_is_covered():
    assert set(typing.get_args(Command)) == set(COMMAND_TYPES)
    assert {type(c) for c in sample_commands()} == set(COMMAND_TYPES)


@pytest.mark.parametrize("command", sample_commands(), ids=lambda c: type(c).__name__)
def test_command_round_trip(command):
    plain = command.to_plain()
    assert_plain(plain)
    assert plain["type"] == type(command).__name__
    back = command_from_plain(pickle.loads(pickle.dumps(plain)))
    assert type(back) is type(command)
    assert same(back.to_plain(), plain)
    # and it means the same on a drawing
    scene = default_scene(0, num_paths=3)
    expected, notes = apply_to_drawing(scene, command)
    got, notes_back = apply_to_drawing(scene, back)
    assert got == expected and notes == notes_back


def test_bad_plain_commands_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown command type"):
        command_from_plain({"type": "Explode"})
    with pytest.raises(ConfigError, match="no field"):
        command_from_plain({"type": "DeleteStrokes", "ids": [1], "bomb": 1})
    with pytest.raises(ConfigError, match="invalid SetFrozen"):
        command_from_plain({"type": "SetFrozen"})
    with pytest.raises(ConfigError, match="not a SetPrompt"):
        SetPrompt.from_plain({"type": "SetFrozen", "ids": [1]})


def test_snapshot_carries_its_config_and_round_trips(tiny_clip):
    config = SessionConfig(prompt="a red cat", num_paths=5, num_steps=3, num_augs=1, width=64, height=64)
    session = Session(config, tiny_clip)
    session.submit(SetPrompt("a blue dog", ("ugly",)))
    snap = session.step()
    assert snap.config == session.config and snap.config.prompt == "a blue dog"
    assert snap.config.negative_prompts == ("ugly",) and snap.config.num_paths == 5
    plain = snap.to_plain()
    assert_plain(plain)
    back = Snapshot.from_plain(pickle.loads(pickle.dumps(plain)))
    assert back == snap
    assert same(back.to_plain(), plain)
    assert back.drawing.strokes[0].points.flags.writeable is False
