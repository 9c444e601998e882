"""Raster sketch import: a synthetic pencil scan drawn with Pillow, caps, hostile images."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from curves import sample
from PIL import Image, ImageDraw, ImageFilter

from clipdraw_core.errors import FileFormatError
from clipdraw_core.io.raster_import import load_image_strokes

W, H = 600, 400
K = 224 / 600  # image -> 224 canvas scale
OFFSET_Y = (224 - H * K) / 2  # centred vertically


def to_canvas(xy) -> np.ndarray:
    return np.asarray(xy, dtype=np.float64) * K + [0.0, OFFSET_Y]


# The drawn shapes, in image pixels: a circle, a long diagonal, a horizontal line and a
# line that crosses the circle (so the tracer must split and re-join at a junction).
CIRCLE = ((220.0, 200.0), 120.0)
LINES = [((380, 60), (560, 340)), ((380, 360), (580, 360)), ((40, 380), (200, 200))]


def ideal_samples() -> list[np.ndarray]:
    t = np.linspace(0, 2 * np.pi, 400)
    (cx, cy), r = CIRCLE
    r -= 2.5  # Pillow draws the 5 px outline inside the bounding box
    shapes = [np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)]
    a = np.linspace(0, 1, 200)[:, None]
    shapes += [np.asarray(p0) + a * (np.asarray(p1) - p0) for p0, p1 in LINES]
    return [to_canvas(s) for s in shapes]


def pencil_scan(
    fmt: str = "PNG", *, rgba: bool = False, size=(W, H), seed: int = 0, noise: bool = True
) -> bytes:
    """Grey pencil lines on cream paper, blurred, with sensor noise."""
    rng = np.random.default_rng(seed)
    sx, sy = size[0] / W, size[1] / H
    paper = (0, 0, 0, 0) if rgba else (245, 240, 225)
    im = Image.new("RGBA" if rgba else "RGB", size, paper)
    draw = ImageDraw.Draw(im)
    (cx, cy), r = CIRCLE
    ink = (70, 70, 75, 255) if rgba else (70, 70, 75)
    draw.ellipse(
        [(cx - r) * sx, (cy - r) * sy, (cx + r) * sx, (cy + r) * sy], outline=ink, width=round(5 * sx)
    )
    for p0, p1 in LINES:
        draw.line([(p0[0] * sx, p0[1] * sy), (p1[0] * sx, p1[1] * sy)], fill=ink, width=round(4 * sx))
    if not rgba:
        im = im.filter(ImageFilter.GaussianBlur(sx))
    if not rgba and noise:
        arr = np.asarray(im, dtype=np.float64) + rng.normal(0, 6, (size[1], size[0], 3))
        im = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    buf = io.BytesIO()
    im.save(buf, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buf.getvalue()


def nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For every point of a, the distance to the closest point of b."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min(axis=1)


def check_trace(strokes, tol: float = 2.0, scale: float = 1.0) -> None:
    ideal = ideal_samples()
    all_ideal = np.concatenate(ideal)
    traced = np.concatenate([sample(s.points, 200) for s in strokes]) * scale
    # every traced point lies on a drawn line ...
    assert nearest(traced, all_ideal).max() < tol
    # ... and every drawn line is covered by the trace (allowing the pen's round ends)
    for shape in ideal:
        assert np.quantile(nearest(shape, traced), 0.98) < tol


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_pencil_scan_traces_the_drawn_lines(fmt: str) -> None:
    strokes = load_image_strokes(pencil_scan(fmt), 224, 224)
    # circle, two lines, and the crossing line re-joined across the circle
    assert len(strokes) == 4
    check_trace(strokes)
    for s in strokes:
        assert max(s.color[:3]) < 0.45 and s.color[3] == 1.0  # dark, opaque
        assert 0.5 <= s.half_width <= 1.3  # 4-5 px pencil in a 600 px scan -> ~1.5-1.9 px on the canvas
        assert s.num_segments <= 8
    circle = max(strokes, key=lambda s: np.ptp(s.points[:, 0]) * np.ptp(s.points[:, 1]))
    np.testing.assert_allclose(circle.points[0], circle.points[-1])  # loop closed
    r = np.linalg.norm(sample(circle.points, 200) - to_canvas(CIRCLE[0]), axis=1)
    np.testing.assert_allclose(r, (CIRCLE[1] - 2.5) * K, atol=1.0)


def test_transparent_png_and_larger_canvas() -> None:
    strokes = load_image_strokes(pencil_scan(rgba=True), 448, 448, first_id=7, frozen=True)
    assert len(strokes) == 4
    assert [s.id for s in strokes] == [7, 8, 9, 10] and all(s.frozen for s in strokes)
    check_trace(strokes, scale=0.5)  # 448 canvas -> the 224 reference geometry


def test_cap_keeps_the_longest_lines() -> None:
    strokes = load_image_strokes(pencil_scan(), 224, 224, max_strokes=2)
    assert len(strokes) == 2
    # the circle (~280 px long) and the crossing line (~90 px) are the longest ones
    lengths = [np.linalg.norm(np.diff(sample(s.points, 200), axis=0), axis=1).sum() for s in strokes]
    assert lengths[0] > 250 and lengths[1] > 80


def test_big_scan_is_downscaled_quickly(tmp_path) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(pencil_scan("JPEG", size=(4800, 3200), noise=False))
    start = time.perf_counter()
    strokes = load_image_strokes(path, 224, 224)
    assert time.perf_counter() - start < 10.0
    assert 3 <= len(strokes) <= 6
    check_trace(strokes, tol=2.5)


def _png_with_size(width: int, height: int) -> bytes:
    """A tiny valid 1x1 PNG whose header claims another size (decompression bomb)."""
    buf = io.BytesIO()
    Image.new("L", (1, 1), 255).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = data[12:29]  # b"IHDR" + 13 bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


def test_hostile_and_empty_images(tmp_path) -> None:
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match="too large"):
        load_image_strokes(_png_with_size(100_000, 100_000), 224, 224)
    assert time.perf_counter() - start < 1.0
    blank = io.BytesIO()
    Image.new("RGB", (300, 200), (250, 250, 250)).save(blank, "PNG")
    with pytest.raises(FileFormatError, match="blank"):
        load_image_strokes(blank.getvalue(), 224, 224)
    dark = io.BytesIO()
    im = Image.new("RGB", (300, 200), (10, 10, 10))
    ImageDraw.Draw(im).line([(0, 100), (300, 100)], fill=(255, 255, 255), width=5)
    im.save(dark, "PNG")
    with pytest.raises(FileFormatError, match="dark"):
        load_image_strokes(dark.getvalue(), 224, 224)
    with pytest.raises(FileFormatError, match="not a supported image"):
        load_image_strokes(b"<svg xmlns='http://www.w3.org/2000/svg'/>", 224, 224)
    with pytest.raises(FileFormatError, match="cannot read"):
        load_image_strokes(tmp_path / "missing.png", 224, 224)
    truncated = pencil_scan()[:2000]
    with pytest.raises(FileFormatError):
        load_image_strokes(truncated, 224, 224)


def test_uneven_lighting_of_a_photographed_page() -> None:
    """A page lit from one side (45 % darker at the far edge) still traces cleanly."""
    img = np.asarray(Image.open(io.BytesIO(pencil_scan(seed=3))), dtype=np.float64)
    shade = (
        np.linspace(1.0, 0.55, img.shape[1])[None, :, None]
        * np.linspace(1.0, 0.8, img.shape[0])[:, None, None]
    )
    buf = io.BytesIO()
    Image.fromarray((img * shade).clip(0, 255).astype(np.uint8)).save(buf, "PNG")
    strokes = load_image_strokes(buf.getvalue(), 224, 224)
    assert len(strokes) == 4
    check_trace(strokes)


def test_committed_fixture_file() -> None:
    """tests/fixtures/pencil_scan.png (written by ``pencil_scan(noise=False)``) read from disk."""
    path = Path(__file__).parent / "fixtures" / "pencil_scan.png"
    strokes = load_image_strokes(path, 224, 224, max_strokes=256)
    assert len(strokes) == 4
    check_trace(strokes)
