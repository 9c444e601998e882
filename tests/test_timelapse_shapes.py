"""Time-lapse frames of drawings with filled shapes: exact frames, records, projects, videos."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageSequence

from clipdraw_core.drawing.strokes import Drawing, Stroke, default_scene
from clipdraw_core.errors import FileFormatError
from clipdraw_core.io.project import load_project, project_to_json, save_project
from clipdraw_core.io.project_history import ProjectHistory
from clipdraw_core.io.video import VideoOptions, export_replay, export_timelapse
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.timelapse import (
    SHAPE_ARRAYS,
    Frame,
    TimelapseRecorder,
    frame_from_dict,
    frame_to_dict,
)


def _ring(cx: float, cy: float, r: float, clockwise: bool) -> list[tuple[float, float]]:
    """A closed 4-segment circle-ish contour (3 points per segment)."""
    angles = np.linspace(0, 2 * np.pi, 13)[:-1]
    if not clockwise:
        angles = angles[::-1]
    return [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in angles]


def shapes_and_strokes(size: int = 64) -> Drawing:
    """An evenodd donut, a plain outlined triangle, a frozen compound nonzero shape, open strokes."""
    donut = Stroke(
        10,
        _ring(20, 20, 14, True) + _ring(20, 20, 6, True),  # same direction: a hole only under evenodd
        1.5,
        (0.1, 0.2, 0.3, 1.0),
        fill=(0.9, 0.1, 0.1, 1.0),
        outlined=False,
        fill_rule="evenodd",
        subpaths=(4, 4),
    )
    triangle = Stroke(
        3,
        [(40, 40), (45, 42), (50, 44), (55, 46), (52, 52), (48, 58), (44, 60), (42, 52), (40, 44)],
        2.0,
        (0.0, 0.0, 0.0, 1.0),
        fill=(0.2, 0.7, 0.3, 0.6),
        outlined=True,
    )
    pair = Stroke(
        7,
        _ring(48, 14, 6, True) + _ring(48, 14, 3, False) + _ring(12, 50, 5, True),
        1.0,
        (0.3, 0.3, 0.9, 0.5),
        frozen=True,
        fill=(0.1, 0.3, 0.9, 0.8),
        outlined=False,
        subpaths=(4, 4, 4),
    )
    strokes = default_scene(1, num_paths=3, size=size).strokes
    return Drawing(size, size, (1.0, 0.98, 0.95), (donut, *strokes[:2], triangle, pair, strokes[2]))


def test_a_frame_gives_back_the_drawing_with_shapes_exactly():
    drawing = shapes_and_strokes()
    frame = Frame.from_drawing(drawing, 4, 0.25)
    back = frame.to_drawing()
    assert back == drawing  # Stroke equality: points, fills, outline flags, rules, subpaths, frozen
    assert [s.fill_rule for s in back.strokes if s.closed] == ["evenodd", "nonzero", "nonzero"]
    assert back.stroke(7).subpaths == (4, 4, 4) and back.stroke(10).subpaths == (4, 4)
    # through the JSON record too
    again = frame_from_dict(json.loads(json.dumps(frame_to_dict(frame))))
    assert again.to_drawing() == drawing and again.step == 4 and again.score == 0.25


def test_shape_structure_is_shared_and_fills_are_kept_per_frame():
    drawing = shapes_and_strokes()
    first = Frame.from_drawing(drawing, 0)
    moved = drawing.with_strokes(
        replace(s, fill=(0.5, 0.5, 0.5, 0.5)) if s.closed else replace(s, points=s.points + 1)
        for s in drawing.strokes
    )
    second = Frame.from_drawing(moved, 1, previous=first)
    assert second.structure is first.structure  # flags and contours did not change
    assert second.to_drawing() == moved and first.to_drawing() == drawing
    floats = second.points.nbytes + second.half_widths.nbytes + second.colors.nbytes
    assert second.own_nbytes == floats + 3 * 16  # one RGBA float32 fill per shape per frame
    # a changed fill rule is a structural change
    flipped = drawing.with_strokes(
        replace(s, fill_rule="nonzero") if s.id == 10 else s for s in drawing.strokes
    )
    third = Frame.from_drawing(flipped, 2, previous=second)
    assert third.structure is not second.structure and third.to_drawing() == flipped


def test_open_stroke_frames_keep_the_old_record_and_old_records_still_load():
    scene = default_scene(0, num_paths=5, size=32)
    record = frame_to_dict(Frame.from_drawing(scene, 3))
    assert not set(SHAPE_ARRAYS) & set(record)  # older versions read it as before
    assert frame_from_dict(record).to_drawing() == scene


def test_recorder_with_shapes_round_trips_through_json():
    drawing = shapes_and_strokes()
    rec = TimelapseRecorder(every=2)
    for step in range(9):
        moved = drawing.with_strokes(replace(s, points=s.points + 0.25 * step) for s in drawing.strokes)
        rec.offer(moved, step, step / 10)
    rec.finish(drawing, 9)
    back = TimelapseRecorder.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert [f.step for f in back.frames] == [0, 2, 4, 6, 8, 9]
    for a, b in zip(rec.frames, back.frames, strict=True):
        assert b.to_drawing() == a.to_drawing() and a.score == b.score
    assert len({id(f.structure) for f in back.frames}) == 1


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda f: f.pop("fills"), "shape arrays missing: fills"),
        (lambda f: f.update(fills=f["colors"]), "fill colours do not match"),
        (lambda f: f.update(subpaths=""), "subpaths do not match"),
        (lambda f: f.update(closed=f["frozen"]), "time-lapse frame"),
    ],
)
def test_damaged_shape_arrays_are_one_clear_error(mutate, fragment):
    data = frame_to_dict(Frame.from_drawing(shapes_and_strokes(), 0))
    mutate(data)
    with pytest.raises(FileFormatError, match=fragment):
        frame_from_dict(data)


def test_project_with_shape_history_round_trips(tmp_path):
    drawing = shapes_and_strokes(96)
    config = SessionConfig(num_paths=3, num_shapes=3, width=96, height=96)
    rec = TimelapseRecorder(1)
    for step in range(4):
        rec.offer(drawing.with_strokes(replace(s, points=s.points + step) for s in drawing.strokes), step)
    branch = (*rec.frames[:2], Frame.from_drawing(drawing, 7, 0.5, rec.frames[1]))
    path = save_project(tmp_path / "s.cdproj", config, drawing, 4, history=ProjectHistory(rec, (branch,)))
    project = load_project(path)
    assert project.drawing == drawing and project.history is not None
    loaded = project.history.recorder.frames
    assert [f.to_drawing() for f in loaded] == [f.to_drawing() for f in rec.frames]
    (kept,) = project.history.branches
    assert kept[:2] == tuple(loaded[:2]) and kept[2].to_drawing() == drawing
    # a frame record with only some shape arrays is refused by the schema, in one line
    data = json.loads(project_to_json(config, drawing, 4, history=ProjectHistory(rec)))
    del data["history"]["frames"][1]["evenodd"]
    (tmp_path / "bad.cdproj").write_text(json.dumps(data))
    with pytest.raises(FileFormatError, match=r"history.frames\[1\] has filled shapes but lacks evenodd"):
        load_project(tmp_path / "bad.cdproj")


def _gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")).astype(int) for f in ImageSequence.Iterator(im)]


def test_videos_paint_the_fills_by_their_rule(tmp_path):
    drawing = shapes_and_strokes()
    donut_only = drawing.with_strokes([drawing.stroke(10)])
    rec = TimelapseRecorder(1)
    rec.offer(donut_only, 0)
    rec.offer(drawing, 1)
    out = export_timelapse(tmp_path / "t.gif", rec.frames, VideoOptions(fps=5, hold_last=0))
    first, second = _gif_frames(out)
    red = np.array([230, 26, 26])
    assert np.abs(first[20, 31] - red).max() < 12  # in the ring (x=31, y=20)
    assert np.abs(first[20, 20] - [255, 250, 242]).max() < 12  # the evenodd hole: paper
    assert np.abs(second[50, 12] - [71, 111, 232]).max() < 12  # the compound shape's second contour
    replay = _gif_frames(export_replay(tmp_path / "r.gif", drawing, VideoOptions(fps=5, hold_last=0)))
    assert len(replay) == 7 and np.abs(replay[1][20, 31] - red).max() < 12
