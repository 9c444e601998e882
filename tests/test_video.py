"""Video export: decode the clips back (frame count, size), captions, replay order, cancel."""

from __future__ import annotations

import threading

import av
import numpy as np
import pytest
from PIL import Image, ImageSequence

from clipdraw_core.drawing.strokes import Drawing, Stroke, default_scene
from clipdraw_core.errors import Cancelled, ConfigError
from clipdraw_core.io.video import VideoOptions, export_replay, export_timelapse, replay_counts
from clipdraw_core.optim.timelapse import TimelapseRecorder


def decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def growing_frames(n: int = 6):
    """Frames of a drawing whose strokes move each step (all frames differ)."""
    scene = default_scene(1, num_paths=20, size=64)
    rec = TimelapseRecorder(every=1)
    for step in range(n):
        strokes = [Stroke(s.id, s.points + 2.0 * step, 2.0, s.color) for s in scene.strokes]
        rec.offer(scene.with_strokes(strokes), step)
    return rec.frames


@pytest.mark.parametrize("suffix", ["mp4", "webm"])
def test_video_decodes_to_the_frames_at_the_chosen_size(tmp_path, suffix):
    frames = growing_frames(6)
    out = tmp_path / f"clip.{suffix}"
    seen = []
    export_timelapse(
        out, frames, VideoOptions(fps=10, size=96, hold_last=0.5), progress=lambda d, t: seen.append((d, t))
    )
    decoded = decode(out)
    assert len(decoded) == 6 + 5  # 6 frames + 0.5 s held at 10 fps
    assert decoded[0].shape == (96, 96, 3)
    assert seen == [(i, 6) for i in range(1, 7)]
    with av.open(str(out)) as container:
        assert container.streams.video[0].average_rate == 10
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed


def test_gif_decodes_to_the_frames_and_keeps_the_canvas_aspect(tmp_path):
    scene = default_scene(1, num_paths=20, size=64)
    wide = Drawing(96, 48, (1, 1, 1), tuple(Stroke(s.id, s.points, 2.0, s.color) for s in scene.strokes))
    rec = TimelapseRecorder(every=1)
    for step in range(5):
        rec.offer(
            wide.with_strokes([Stroke(s.id, s.points + 3.0 * step, 2.0, s.color) for s in wide.strokes]), step
        )
    out = tmp_path / "clip.gif"
    export_timelapse(out, rec.frames, VideoOptions(fps=5, size=192, hold_last=1.0))
    frames = gif_frames(out)
    assert len(frames) == 5 and frames[0].shape == (96, 192, 3)
    with Image.open(out) as im:
        durations = [f.info["duration"] for f in ImageSequence.Iterator(im)]
    assert durations == [200, 200, 200, 200, 1200]  # the last frame held 1 s
    assert not np.array_equal(frames[0], frames[1])


def test_caption_is_drawn_at_the_bottom(tmp_path):
    frames = growing_frames(2)
    plain, captioned = tmp_path / "a.gif", tmp_path / "b.gif"
    export_timelapse(plain, frames, VideoOptions(size=128, hold_last=0))
    export_timelapse(
        captioned, frames, VideoOptions(size=128, hold_last=0, caption="a red cat", show_step=True)
    )
    a, b = gif_frames(plain)[1].astype(int), gif_frames(captioned)[1].astype(int)
    changed = np.abs(a - b).sum(-1) > 30
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.size and rows.min() > 128 * 0.8  # only the band at the bottom changed
    assert changed[:, :64].any() and changed[:, 64:].any()  # prompt on the left, step on the right


def test_replay_adds_strokes_in_paint_order(tmp_path):
    # three opaque, non-overlapping bars: red, green, blue from bottom to top of paint order
    bars = [
        Stroke(i, [[8 + 16 * i, 8], [8 + 16 * i, 20], [8 + 16 * i, 40], [8 + 16 * i, 56]], 4.0, c)
        for i, c in enumerate([(1, 0, 0, 1), (0, 1, 0, 1), (0, 0, 1, 1)])
    ]
    drawing = Drawing(64, 64, (1, 1, 1), tuple(bars))
    out = tmp_path / "replay.mp4"
    export_replay(out, drawing, VideoOptions(fps=4, hold_last=0))
    decoded = decode(out)
    assert len(decoded) == 4  # empty canvas, then one more stroke per frame
    centres = [(32, 8), (32, 24), (32, 40)]  # (row, col) of each bar
    for k, frame in enumerate(decoded):
        for i, (r, c) in enumerate(centres):
            painted = frame[r, c].astype(int).min() < 128
            assert painted == (i < k), (k, i, frame[r, c])


def test_replay_counts_cap_long_replays():
    assert replay_counts(3) == [0, 1, 2, 3]
    counts = replay_counts(1000, max_frames=100)
    assert len(counts) == 101 and counts[0] == 0 and counts[-1] == 1000 and counts[1] == 10
    assert replay_counts(0) == [0]


def test_cancel_leaves_no_file(tmp_path):
    frames = growing_frames(6)
    out = tmp_path / "clip.mp4"
    flag = threading.Event()

    def progress(done, total):
        if done == 2:
            flag.set()

    with pytest.raises(Cancelled):
        export_timelapse(out, frames, VideoOptions(), progress=progress, cancel=flag)
    assert list(tmp_path.iterdir()) == []


def test_bad_requests_are_one_line_errors(tmp_path):
    frames = growing_frames(2)
    with pytest.raises(ConfigError, match=r"\.mp4, \.webm or \.gif"):
        export_timelapse(tmp_path / "clip.avi", frames)
    with pytest.raises(ConfigError, match="frame rate"):
        export_timelapse(tmp_path / "clip.gif", frames, VideoOptions(fps=0))
    with pytest.raises(ConfigError, match="no frames"):
        export_timelapse(tmp_path / "clip.gif", [])
    assert list(tmp_path.iterdir()) == []
