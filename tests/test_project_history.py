"""Recorded history in project files: exact round trip, branches, bounds, old files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clipdraw_core.drawing.strokes import default_scene
from clipdraw_core.errors import ConfigError, FileFormatError
from clipdraw_core.io.project import load_project, project_to_json, save_project
from clipdraw_core.io.project_history import MAX_HISTORY_FRAMES, ProjectHistory
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.timelapse import Frame, TimelapseRecorder


def _moved(drawing, dx):
    from dataclasses import replace

    return replace(drawing, strokes=tuple(replace(s, points=s.points + dx) for s in drawing.strokes))


def _history(config, n=6, every=2):
    base = default_scene(config.seed, num_paths=config.num_paths, size=config.width)
    recorder = TimelapseRecorder(every)
    drawings = {}
    for step in range(0, n * every, every):
        d = _moved(base, 0.5 * step)
        drawings[step] = d
        recorder.offer(d, step, score=0.1 + step / 100)
    main = recorder.frames
    # a branch: the main track's first three frames, then a future of its own
    branch = (*main[:3], Frame.from_drawing(_moved(base, -3.0), 20, 0.5, main[2]))
    return ProjectHistory(recorder, (branch,)), drawings, base


def test_history_round_trips_exactly_and_shares_frames(tmp_path):
    config = SessionConfig(num_paths=8, width=96, height=96)
    history, drawings, base = _history(config)
    path = save_project(tmp_path / "h.cdproj", config, base, 10, history=history)
    project = load_project(path)
    assert project.history is not None
    frames = project.history.recorder.frames
    assert [f.step for f in frames] == sorted(drawings)
    for frame in frames:
        assert frame.to_drawing() == drawings[frame.step]  # bit-exact
        assert frame.to_drawing().strokes[0].points.dtype == np.float32
    (branch,) = project.history.branches
    assert [f.step for f in branch] == [0, 2, 4, 20]
    assert all(a is b for a, b in zip(branch[:3], frames[:3], strict=True))  # shared, not copied
    assert branch[3].to_drawing() == _moved(base, -3.0)
    # the branch's common past is stored once
    data = json.loads(path.read_text())
    assert data["format_version"] == 3
    assert data["history"]["branches"][0]["shared"] == 3
    assert len(data["history"]["branches"][0]["frames"]) == 1
    # deterministic: save -> load -> save gives the same bytes
    again = save_project(tmp_path / "h2.cdproj", project.config, project.drawing, 10, history=project.history)
    assert again.read_bytes() == path.read_bytes()


def test_reopened_recorder_goes_on_recording(tmp_path):
    config = SessionConfig(num_paths=4, width=64, height=64)
    history, _, base = _history(config, n=3, every=2)
    project = load_project(save_project(tmp_path / "p.cdproj", config, base, 4, history=history))
    recorder = project.history.recorder
    assert not recorder.offer(base, 5) and recorder.offer(base, 6)
    assert [f.step for f in recorder.frames] == [0, 2, 4, 6]


def test_projects_without_history_stay_old_formats_and_open():
    config = SessionConfig(num_paths=3, width=64, height=64)
    drawing = default_scene(0, num_paths=3, size=64)
    data = json.loads(project_to_json(config, drawing, 0))
    assert data["format_version"] == 1 and "history" not in data
    empty = ProjectHistory(TimelapseRecorder(5))
    assert "history" not in json.loads(project_to_json(config, drawing, 0, history=empty))


def _with_history(tmp_path, mutate):
    config = SessionConfig(num_paths=4, width=64, height=64)
    history, _, base = _history(config, n=3)
    data = json.loads(project_to_json(config, base, 0, history=history))
    mutate(data["history"])
    path = tmp_path / "bad.cdproj"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda h: h.update(frames="x"), "history.frames must be a list"),
        (lambda h: h["frames"][1].update(step="2"), r"history.frames\[1\].step must be an integer"),
        (lambda h: h["frames"][0].update(points=[1, 2]), r"history.frames\[0\].points must be base64 text"),
        (lambda h: h["frames"][0].update(points="!!!"), "damaged time-lapse frame"),
        (lambda h: h["frames"][2].update(step=0), "out of order"),
        (lambda h: h["frames"][0].update(width=80), "canvas size"),
        (lambda h: h.update(every=0), "history.every must be between 1"),
        (lambda h: h["branches"][0].update(shared=50), "shares more frames"),
        (lambda h: h.update(branches=[{"shared": 0, "frames": []}] * 17), "too many branches"),
        (lambda h: h.update(frames=[h["frames"][0]] * (MAX_HISTORY_FRAMES + 1)), "too many frames"),
    ],
)
def test_damaged_history_is_one_clear_error(tmp_path, mutate, fragment):
    with pytest.raises(FileFormatError, match=fragment):
        load_project(_with_history(tmp_path, mutate))


def test_history_frames_are_not_counted_as_strokes():
    from clipdraw_core.io.project_schema import precheck_bytes

    frame_like = '{"points": "AAAA"}' * 6000
    precheck_bytes(frame_like, "x")  # 6000 string-valued points: frames, not strokes
    with pytest.raises(FileFormatError, match="too many strokes"):
        precheck_bytes('{"points": [[0, 0]]}' * 6000, "x")


def test_reset_to_keeps_frames_and_grid():
    config = SessionConfig(num_paths=3, width=64, height=64)
    history, _, base = _history(config, n=5, every=2)
    recorder = history.recorder
    kept = recorder.frames[:2]
    recorder.reset_to(kept)
    assert [f.step for f in recorder.frames] == [0, 2]
    assert recorder.offer(base, 4) and not recorder.offer(base, 5)
    with pytest.raises(ConfigError, match="increasing step"):
        recorder.reset_to([kept[1], kept[0]])
