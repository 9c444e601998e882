"""Behaviour of the optimisation loop: the original's defaults, steering, robustness."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from clipdraw_core.drawing.commands import (
    AddFreehand,
    AddStrokes,
    DeleteStrokes,
    SetFrozen,
    SetPrompt,
    SetStrokeCount,
    UpdateStrokes,
)
from clipdraw_core.drawing.strokes import Stroke, default_scene
from clipdraw_core.errors import ConfigError, NumericalError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session, lr_factor


def small_config(**kw) -> SessionConfig:
    base = {"prompt": "a red cat", "num_paths": 24, "num_steps": 100, "num_augs": 1}
    base.update(kw)
    return SessionConfig(**base)


def plain_score(session: Session, clip, prompt: str) -> float:
    """Cosine similarity of the un-augmented drawing to the prompt."""
    with torch.no_grad():
        img = session.render_image()[None]
        feats = clip.encode_image(F.interpolate(img, size=clip.image_size, mode="bilinear"))
        return float(feats @ clip.encode_text([prompt]).T)


def test_default_scene_is_the_original_random_walk():
    drawing = default_scene(seed=0)
    assert len(drawing.strokes) == 256
    assert (drawing.width, drawing.height, drawing.background) == (224, 224, (1.0, 1.0, 1.0))
    rng = random.Random(0)
    n_seg = rng.randint(1, 3)
    p0 = (rng.random() * 224, rng.random() * 224)
    first = drawing.strokes[0]
    assert first.num_segments == n_seg
    np.testing.assert_allclose(first.points[0], p0, rtol=1e-6)
    assert {s.num_segments for s in drawing.strokes} == {1, 2, 3}
    assert all(s.half_width == 1.0 for s in drawing.strokes)
    steps = np.concatenate([np.diff(s.points, axis=0) for s in drawing.strokes])
    assert np.abs(steps).max() <= 0.05 * 224 + 1e-3  # 0.1 * (rand - 0.5) per coordinate
    colors = np.array([s.color for s in drawing.strokes])
    assert colors.min() >= 0 and colors.max() <= 1 and colors[:, 3].std() > 0.2


def test_session_defaults_match_original(tiny_clip):
    session = Session(SessionConfig(prompt="a cat"), tiny_clip)
    assert session.snapshot().drawing.strokes == default_scene(seed=0).strokes
    lrs = [g["lr"] for g in session._optimizer.param_groups]
    assert lrs == [1.0, 0.1, 0.01, 0.01]  # points, widths, colours (+ fills of shapes, at the colour rate)
    assert [lr_factor("step", s, 1000) for s in (0, 499, 500, 749, 750, 999)] == [1, 1, 0.4, 0.4, 0.1, 0.1]
    assert lr_factor("cosine", 0, 100) == 1.0 and lr_factor("cosine", 100, 100) == pytest.approx(0.0)


def test_similarity_to_prompt_rises(tiny_clip):
    session = Session(SessionConfig(prompt="a red cat", num_steps=30), tiny_clip)
    before = plain_score(session, tiny_clip, "a red cat")
    snaps = list(session.run())
    after = plain_score(session, tiny_clip, "a red cat")
    assert len(snaps) == 30 and snaps[-1].step == 30 and snaps[-1].done
    assert after > before + 0.005
    assert np.mean([s.score for s in snaps[-5:]]) > np.mean([s.score for s in snaps[:5]])


def test_widths_and_colours_are_clamped(tiny_clip):
    session = Session(small_config(lr_width=100.0, lr_color=100.0), tiny_clip)
    for _ in range(3):
        snap = session.step()
    widths = np.array([s.half_width for s in snap.drawing.strokes])
    colors = np.array([s.color for s in snap.drawing.strokes])
    assert widths.min() >= 1.0 and widths.max() <= 50.0
    assert colors.min() >= 0.0 and colors.max() <= 1.0


def test_frozen_strokes_are_bit_identical_while_others_move(tiny_clip):
    session = Session(small_config(), tiny_clip)
    start = session.snapshot().drawing
    frozen_ids = start.ids[:3]
    session.submit(SetFrozen(tuple(frozen_ids)))
    for _ in range(50):
        snap = session.step()
    end = snap.drawing
    for sid in frozen_ids:
        a, b = start.stroke(sid), end.stroke(sid)
        assert np.array_equal(a.points, b.points)
        assert a.half_width == b.half_width and a.color == b.color
        assert b.frozen
    moved = [
        sid for sid in start.ids[3:] if not np.array_equal(start.stroke(sid).points, end.stroke(sid).points)
    ]
    assert len(moved) == len(start.ids) - 3
    # unfreezing lets them move again
    session.submit(SetFrozen((frozen_ids[0],), frozen=False))
    after = session.step().drawing
    assert not np.array_equal(after.stroke(frozen_ids[0]).points, start.stroke(frozen_ids[0]).points)


def test_edits_land_on_the_next_step_and_ids_stay_stable(tiny_clip):
    session = Session(small_config(), tiny_clip)
    session.step()
    ids = session.snapshot().drawing.ids
    new_id = session.allocate_ids(1)[0]
    assert new_id not in ids
    stroke = Stroke(new_id, [[10, 10], [20, 10], [30, 10], [40, 10]], 2.0, (1, 0, 0, 1))
    session.submit(DeleteStrokes((ids[5], ids[7])))
    session.submit(AddStrokes((stroke,)))
    session.submit(SetFrozen((new_id,)))
    snap = session.step()
    got = snap.drawing.ids
    assert ids[5] not in got and ids[7] not in got
    assert got[-1] == new_id and snap.drawing.strokes[-1].frozen
    assert [i for i in got if i != new_id] == [i for i in ids if i not in (ids[5], ids[7])]
    np.testing.assert_array_equal(snap.drawing.stroke(new_id).points, stroke.points)
    # a deleted stroke can come back at its old place (undo of a delete)
    old = session.snapshot().drawing
    gone = old.strokes[2]
    session.submit(DeleteStrokes((gone.id,)))
    session.apply_pending()
    session.submit(AddStrokes((gone,), positions=(2,)))
    restored = session.apply_pending().drawing
    assert restored.ids == old.ids
    assert restored.strokes[2] == gone


def test_several_edits_between_steps_are_all_applied_in_order(tiny_clip):
    session = Session(small_config(), tiny_clip)
    ids = session.snapshot().drawing.ids
    for sid in ids[:10]:
        session.submit(SetFrozen((sid,)))
    session.submit(SetFrozen((ids[0],), frozen=False))
    for sid in ids[10:14]:
        session.submit(DeleteStrokes((sid,)))
    drawing = session.step().drawing
    assert [s.frozen for s in drawing.strokes[:10]] == [False] + [True] * 9
    assert len(drawing.strokes) == len(ids) - 4


def test_adam_moments_survive_structural_edits(tiny_clip):
    session = Session(small_config(), tiny_clip)
    for _ in range(3):
        session.step()
    state = session._optimizer.state[session._points]
    before = state["exp_avg"].clone()
    sizes = [3 * s.num_segments + 1 for s in session.snapshot().drawing.strokes]
    session.submit(DeleteStrokes((session.snapshot().drawing.ids[0],)))
    session.apply_pending()
    after = session._optimizer.state[session._points]["exp_avg"]
    torch.testing.assert_close(after, before[sizes[0] :])
    assert int(session._optimizer.state[session._points]["step"]) == 3


def test_freehand_stroke_is_fitted_and_joins(tiny_clip):
    session = Session(small_config(), tiny_clip)
    sid = session.allocate_ids()[0]
    xs = np.linspace(20, 120, 60)
    polyline = np.stack([xs, 60 + 20 * np.sin(xs / 15)], axis=1)
    session.submit(AddFreehand(sid, polyline, half_width=3.0, color=(0, 0, 1, 1)))
    drawing = session.step().drawing
    stroke = drawing.stroke(sid)
    assert drawing.strokes[-1].id == sid and not stroke.frozen
    assert stroke.num_segments >= 1
    assert (
        np.abs(stroke.points[0] - polyline[0]).max() < 5
        and np.abs(stroke.points[-1] - polyline[-1]).max() < 5
    )


def test_prompt_change_and_stroke_count_mid_run(tiny_clip):
    session = Session(small_config(), tiny_clip)
    assert set(session.step().scores) == {"a red cat"}
    session.submit(SetPrompt("a blue house", negative_prompts=("blurry",)))
    session.submit(SetStrokeCount(30))
    snap = session.step()
    assert snap.prompt == "a blue house" and session.config.negative_prompts == ("blurry",)
    assert set(snap.scores) == {"a blue house", "blurry"}  # the new prompts are the ones scored
    assert len(snap.drawing.strokes) == 30 and len(set(snap.drawing.ids)) == 30
    keep = snap.drawing.ids[:2]
    session.submit(SetFrozen(tuple(snap.drawing.ids[-2:])))
    session.submit(SetStrokeCount(5))
    drawing = session.step().drawing
    assert len(drawing.strokes) == 5
    assert drawing.ids[:2] == keep and all(s.frozen for s in drawing.strokes[-2:])


def test_bad_commands_are_reported_not_fatal(tiny_clip):
    session = Session(small_config(), tiny_clip)
    session.submit(DeleteStrokes((99999,)))
    session.submit(SetPrompt("   "))
    first = session.snapshot().drawing.strokes[0]
    session.submit(AddStrokes((first,)))  # duplicate id
    snap = session.step()
    text = " ".join(snap.messages)
    assert "99999" in text and "prompt is empty" in text and "already exists" in text
    assert len(snap.drawing.strokes) == 24 and snap.prompt == "a red cat"


def test_update_strokes_replaces_geometry(tiny_clip):
    session = Session(small_config(), tiny_clip)
    s0 = session.snapshot().drawing.strokes[0]
    new = Stroke(
        s0.id, [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7]], 4.0, (0, 1, 0, 1), frozen=True
    )
    session.submit(UpdateStrokes((new,)))
    got = session.apply_pending().drawing.strokes[0]
    assert got == new


def test_nan_loss_is_skipped_then_reported(tiny_clip, monkeypatch):
    session = Session(small_config(), tiny_clip)
    session.step()
    good = session.snapshot().drawing
    monkeypatch.setattr(
        tiny_clip, "encode_image", lambda images: torch.full((images.shape[0], 64), float("nan"))
    )
    snap = session.step()
    assert any("not a number" in m for m in snap.messages)
    assert snap.drawing.strokes == good.strokes
    with pytest.raises(NumericalError, match="NaN"):
        for _ in range(10):
            session.step()
    assert session.snapshot().drawing.strokes == good.strokes


def test_runs_are_reproducible(tiny_clip):
    a = Session(small_config(seed=3), tiny_clip)
    b = Session(small_config(seed=3), tiny_clip)
    for _ in range(3):
        da, db = a.step().drawing, b.step().drawing
    assert da.strokes == db.strokes
    c = Session(small_config(seed=4), tiny_clip)
    assert c.snapshot().drawing.strokes != a.snapshot().drawing.strokes


def test_snapshots_are_immutable_copies(tiny_clip):
    session = Session(small_config(), tiny_clip)
    snap = session.step()
    pts = snap.drawing.strokes[0].points
    with pytest.raises(ValueError):
        pts[0, 0] = 1.0
    keep = pts.copy()
    session.step()
    np.testing.assert_array_equal(snap.drawing.strokes[0].points, keep)


def test_all_frozen_or_empty_does_not_crash(tiny_clip):
    session = Session(small_config(num_paths=3), tiny_clip)
    session.submit(SetFrozen(tuple(session.snapshot().drawing.ids)))
    snap = session.step()
    assert any("frozen" in m for m in snap.messages) and snap.step == 1
    session.submit(SetStrokeCount(0))
    snap = session.step()
    assert len(snap.drawing.strokes) == 3  # frozen strokes are kept


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"prompt": ""}, "prompt is empty"),
        ({"num_paths": 100000}, "between 0 and 5000"),
        ({"num_paths": -1}, "between 0 and 5000"),
        ({"width": 5}, "between 16 and 4096"),
        ({"num_steps": -3}, "steps"),
        ({"lr_points": float("nan")}, "lr_points"),
        ({"lr_schedule": "wiggly"}, "schedule"),
        ({"temperature": 0.0}, "temperature"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        SessionConfig(**kwargs).validate()


def test_regularisers_run_and_change_the_loss(tiny_clip):
    plain = Session(small_config(), tiny_clip)
    reg = Session(small_config(l2_points=1.0, l2_colors=1.0, smoothness=1.0, diversity=1.0), tiny_clip)
    plain.step()
    reg.step()
    assert reg.snapshot().loss != pytest.approx(plain.snapshot().loss, abs=1e-7)
    for _ in range(2):
        snap = reg.step()
    assert np.isfinite(snap.loss)


def test_edits_mean_the_same_with_and_without_a_session(tiny_clip):
    from clipdraw_core.drawing.commands import apply_to_drawing

    session = Session(small_config(num_paths=10), tiny_clip)
    drawing = session.snapshot().drawing
    gone = drawing.strokes[1], drawing.strokes[6]
    extra = Stroke(50, [[5, 5], [6, 6], [7, 7], [8, 8]], 2.0, (0, 0, 0, 1))
    commands = [
        DeleteStrokes((gone[0].id, gone[1].id, 999)),
        SetFrozen((drawing.ids[2], drawing.ids[3])),
        AddStrokes((gone[1], gone[0]), positions=(6, 1)),  # undo of the delete, any order
        AddStrokes((extra,), positions=(0,)),
        AddFreehand(51, np.array([[10.0, 10.0], [30.0, 12.0], [50.0, 30.0]]), frozen=True),
    ]
    local = drawing
    for command in commands:
        session.submit(command)
        local, _ = apply_to_drawing(local, command)
    engine = session.apply_pending().drawing
    assert engine.ids == local.ids == [50, *drawing.ids, 51]
    assert [s.frozen for s in engine.strokes] == [s.frozen for s in local.strokes]
    for a, b in zip(engine.strokes, local.strokes, strict=True):
        np.testing.assert_array_equal(a.points, b.points)
    assert any("999" in m for m in session.snapshot().messages)
