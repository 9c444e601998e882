"""Time-lapse recording: due steps, bounded memory with thinning, exact frames and branching."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from clipdraw_core.drawing.commands import SetFrozen, apply_to_drawing
from clipdraw_core.drawing.strokes import default_scene
from clipdraw_core.errors import ConfigError, FileFormatError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from clipdraw_core.optim.timelapse import Frame, TimelapseRecorder, restore_commands


def tiny_config(**kw) -> SessionConfig:
    base = {"prompt": "a red cat", "num_paths": 12, "num_steps": 12, "num_augs": 1, "width": 64, "height": 64}
    base.update(kw)
    return SessionConfig(**base)


def test_records_every_k_steps_and_the_final_drawing():
    scene = default_scene(0, num_paths=4, size=32)
    rec = TimelapseRecorder(every=5)
    kept = [step for step in range(0, 23) if rec.offer(scene, step)]
    assert kept == [0, 5, 10, 15, 20]
    rec.finish(scene, 22)
    assert [f.step for f in rec.frames] == [0, 5, 10, 15, 20, 22]
    # the run goes on: the closing frame gives way to the grid
    assert rec.offer(scene, 25)
    assert [f.step for f in rec.frames] == [0, 5, 10, 15, 20, 25]


def test_bounded_memory_over_5000_steps():
    scene = default_scene(0, num_paths=256)
    rec = TimelapseRecorder(every=1, max_frames=200)
    for step in range(5001):
        rec.offer(scene, step)
        assert len(rec) <= 200
    steps = [f.step for f in rec.frames]
    assert steps[0] == 0 and steps[-1] >= 5000 - rec.every
    assert set(np.diff(steps)) == {rec.every}  # still evenly spaced after thinning
    assert rec.every == 32  # 1 -> 2 -> ... doubled each time the cap was reached
    per_frame = rec.frames[1].own_nbytes
    # float32 points (~7 per stroke) + width + RGBA: ~20 KB for 256 strokes
    assert 15_000 < per_frame < 30_000
    assert rec.nbytes() <= 200 * per_frame + rec.frames[0].structure.nbytes
    # the structure arrays are shared, not copied, while strokes are not added/removed
    assert len({id(f.structure) for f in rec.frames}) == 1


def test_byte_cap_thins_too():
    scene = default_scene(0, num_paths=64)
    per_frame = Frame.from_drawing(scene, 0).own_nbytes
    rec = TimelapseRecorder(every=1, max_frames=10_000, max_bytes=20 * per_frame)
    for step in range(400):
        rec.offer(scene, step)
    assert rec.nbytes() <= 20 * per_frame + 2000
    assert 10 <= len(rec) <= 20


def test_bad_settings_are_clear_errors():
    with pytest.raises(ConfigError, match="interval"):
        TimelapseRecorder(every=0)
    with pytest.raises(ConfigError, match="2 frames"):
        TimelapseRecorder(max_frames=1)


def test_frames_restore_exactly_and_branching_continues_from_them(tiny_clip):
    session = Session(tiny_config(), tiny_clip)
    rec = TimelapseRecorder(every=3)
    truth = {0: session.drawing()}
    rec.offer(truth[0], 0)
    session.submit(SetFrozen((2, 5)))  # frozen flags are part of what a frame keeps
    for snap in session.run():
        truth[snap.step] = snap.drawing
        rec.offer(snap.drawing, snap.step, snap.score)
    assert [f.step for f in rec.frames] == [0, 3, 6, 9, 12]
    for frame in rec.frames:
        assert frame.to_drawing() == truth[frame.step]
    assert rec.frames[2].score is not None

    # "continue from here": the live session becomes frame 6 exactly, and optimises on
    frame = rec.frame_at_or_before(7)
    assert frame is not None and frame.step == 6
    for command in restore_commands(session.drawing(), frame.to_drawing()):
        session.submit(command)
    restored = session.apply_pending().drawing
    assert restored == truth[6]
    assert [s.frozen for s in restored.strokes] == [s.id in (2, 5) for s in restored.strokes]
    after = session.step().drawing
    assert after != truth[6]
    # the same commands on plain data (the GUI while no session runs) agree
    plain = truth[12]
    for command in restore_commands(plain, frame.to_drawing()):
        plain, notes = apply_to_drawing(plain, command)
        assert notes == []
    assert plain == truth[6]


def test_recorder_round_trips_through_json_exactly():
    import json

    scene = default_scene(2, num_paths=30, size=64)
    rec = TimelapseRecorder(every=2, max_frames=4)
    for step in range(12):
        rec.offer(
            scene.with_strokes([replace(s, points=s.points + step) for s in scene.strokes]), step, 0.1 * step
        )
    rec.finish(scene, 13)
    text = json.dumps(rec.to_dict())
    back = TimelapseRecorder.from_dict(json.loads(text))
    assert [f.step for f in back.frames] == [f.step for f in rec.frames] and back.every == rec.every
    for a, b in zip(rec.frames, back.frames, strict=True):
        assert a.to_drawing() == b.to_drawing() and a.score == b.score
    assert len({id(f.structure) for f in back.frames}) == 1  # sharing survives the trip
    assert len(text) < 1.5 * rec.nbytes() + 2000 * len(rec)  # base64: ~4/3 of the arrays

    data = json.loads(text)
    data["frames"][1]["points"] = data["frames"][1]["points"][:-8]
    with pytest.raises(FileFormatError, match="time-lapse"):
        TimelapseRecorder.from_dict(data)
    data = json.loads(text)
    data["frames"][0]["colors"] = "not base64!"
    with pytest.raises(FileFormatError, match="time-lapse"):
        TimelapseRecorder.from_dict(data)
