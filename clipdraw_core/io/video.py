"""Video export of a drawing's history: MP4 and WebM through PyAV, GIF through Pillow.

PyAV's wheels bring their own FFmpeg (libx264 for MP4, libvpx-vp9 for WebM), so the
export works on every platform without a system FFmpeg; Pillow (already a
dependency) writes animated GIFs. Every frame is rendered by our own renderer
(:mod:`clipdraw_core.render`) directly at the output size -- the geometry is scaled,
not the pixels -- so a small canvas still gives a sharp large video.

Two kinds of clip:

* :func:`export_timelapse`: the frames a :class:`~clipdraw_core.optim.timelapse.TimelapseRecorder`
  kept, i.e. the drawing forming during the run;
* :func:`export_replay`: "stroke by stroke", the final drawing's strokes appearing in
  paint order (bottom first).

Both take an optional caption (the prompt and/or the step, drawn with Pillow in a band
at the bottom), a ``progress(done, total)`` callback and a ``cancel`` flag (a
``threading.Event`` or any callable returning ``True`` to stop), so a front end can
run them off its UI thread with a progress bar and a Cancel button. A cancelled or
failed export leaves no file behind: frames go to a temporary file in the target
folder that replaces the target only when complete.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.errors import Cancelled, ConfigError, OutputError
from clipdraw_core.optim.timelapse import Frame
from clipdraw_core.render import pack_drawing, render

logger = logging.getLogger(__name__)

FORMATS = ("mp4", "webm", "gif")
MAX_FPS = 120
#: Largest output side in pixels (the renderer's canvas limit).
MAX_SIZE = 4096
#: A replay of more strokes than this many frames adds several strokes per frame.
REPLAY_MAX_FRAMES = 300

_CODECS = {
    "mp4": ("libx264", {"crf": "20", "preset": "veryfast"}),
    "webm": ("libvpx-vp9", {"crf": "32", "b": "0", "deadline": "good", "cpu-used": "5"}),
}

ProgressCallback = Callable[[int, int], None]


class _CancelFlag(Protocol):
    def is_set(self) -> bool: ...


CancelFlag = _CancelFlag | Callable[[], bool]


@dataclass(frozen=True)
class VideoOptions:
    """How a clip looks: ``size`` is the longest side in px (``None`` = the canvas size)."""

    fps: float = 25.0
    size: int | None = None
    #: Text shown at the bottom (usually the prompt); ``None`` = no text.
    caption: str | None = None
    #: Add "step N" to the caption line (time-lapse only).
    show_step: bool = False
    #: Seconds the last frame stays on screen.
    hold_last: float = 1.0
    #: Renderer supersampling per axis.
    samples: int = 1
    device: str = "cpu"

    def validate(self) -> VideoOptions:
        if not isinstance(self.fps, (int, float)) or not 1 <= self.fps <= MAX_FPS:
            raise ConfigError(f"frame rate must be between 1 and {MAX_FPS} fps, got {self.fps!r}")
        if self.size is not None and (
            isinstance(self.size, bool) or not isinstance(self.size, int) or not 16 <= self.size <= MAX_SIZE
        ):
            raise ConfigError(f"video size must be between 16 and {MAX_SIZE} px, got {self.size!r}")
        if not 0 <= self.hold_last <= 60:
            raise ConfigError("the last frame can be held for 0 to 60 seconds")
        if not 1 <= self.samples <= 8:
            raise ConfigError("render samples must be between 1 and 8")
        return self


def video_format(path: str | os.PathLike[str]) -> str:
    """``"mp4"``, ``"webm"`` or ``"gif"`` from the file name; a clear error otherwise."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ConfigError(f"cannot write {Path(path).name}: videos are .mp4, .webm or .gif")
    return suffix


@dataclass(frozen=True)
class _Clip:
    """One video frame to render: the drawing, plus the step to caption."""

    drawing: Drawing
    step: int | None = None

    @property
    def width(self) -> int:
        return self.drawing.width

    @property
    def height(self) -> int:
        return self.drawing.height

    @classmethod
    def of_frame(cls, frame: Frame) -> _Clip:
        return cls(frame.to_drawing(), frame.step)

    @classmethod
    def of_drawing(cls, drawing: Drawing, count: int | None = None, step: int | None = None) -> _Clip:
        if count is not None:
            drawing = drawing.with_strokes(drawing.strokes[:count])
        return cls(drawing, step)


def output_size(width: int, height: int, size: int | None, fmt: str) -> tuple[int, int]:
    """Output frame size: longest side ``size`` (aspect kept); even numbers for MP4/WebM."""
    scale = 1.0 if size is None else size / max(width, height)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    if fmt in ("mp4", "webm"):  # 4:2:0 chroma needs even dimensions
        w, h = w + w % 2, h + h % 2
    return w, h


def _render(clip: _Clip, size: tuple[int, int], samples: int, device: str) -> np.ndarray:
    """Render at ``size`` by scaling the geometry (widths by the mean scale).

    Packed by :func:`~clipdraw_core.render.pack_drawing`, as the session and the PNG
    export pack it, so filled shapes (fill rule, holes, outline or not) look the same.
    """
    w, h = size
    drawing = clip.drawing
    sx, sy = w / drawing.width, h / drawing.height
    points, widths, colors, fills, layout = pack_drawing(drawing, device=device, with_fills=True)
    with torch.no_grad():
        points = points * torch.tensor([sx, sy], device=device)
        widths = widths * (0.5 * (sx + sy))
        image = render(
            points,
            widths,
            colors,
            layout,
            w,
            h,
            drawing.background,
            samples=samples,
            fills=fills if layout.has_fills else None,
        )
    arr = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous()
    return arr.cpu().numpy()


def _draw_caption(pixels: np.ndarray, text: str | None, corner: str | None) -> np.ndarray:
    """A translucent band at the bottom: ``text`` on the left (shortened to fit), ``corner`` right."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(pixels).convert("RGBA")
    h = image.height
    font_size = max(8, round(h / 22))
    font = ImageFont.load_default(size=font_size)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    pad = max(2, font_size // 3)
    band_top = h - font_size - 2 * pad
    draw.rectangle((0, band_top, image.width, h), fill=(0, 0, 0, 140))
    right = 0.0
    if corner:
        right = draw.textlength(corner, font=font)
        draw.text((image.width - pad - right, band_top + pad), corner, font=font, fill=(255, 255, 255, 255))
    if text:
        shown, room = text, image.width - 2 * pad - (right + 2 * pad if corner else 0)
        if draw.textlength(shown, font=font) > room:
            while shown and draw.textlength(shown + "…", font=font) > room:
                shown = shown[:-1]
            shown = shown.rstrip() + "…"
        draw.text((pad, band_top + pad), shown, font=font, fill=(255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(image, overlay).convert("RGB"))


def _caption_for(options: VideoOptions, step: int | None) -> tuple[str | None, str | None]:
    text = " ".join(options.caption.split()) if options.caption else None
    corner = f"step {step}" if options.show_step and step is not None else None
    return text, corner


def _cancelled(cancel: CancelFlag | None) -> bool:
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if callable(is_set) else cancel())  # type: ignore[operator]


def _export(
    path: str | os.PathLike[str],
    get: Callable[[int], _Clip],
    count: int,
    options: VideoOptions,
    progress: ProgressCallback | None,
    cancel: CancelFlag | None,
) -> Path:
    options = options.validate()
    fmt = video_format(path)
    if count < 1:
        raise ConfigError("nothing to export: the clip has no frames")
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {target}: folder {folder} does not exist")
    first = get(0)
    size = output_size(first.width, first.height, options.size, fmt)
    hold = round(options.hold_last * options.fps)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc

    def frames() -> Iterator[np.ndarray]:
        for i in range(count):
            if _cancelled(cancel):
                raise Cancelled(f"export of {target.name} cancelled; nothing written")
            clip = first if i == 0 else get(i)
            pixels = _render(clip, size, options.samples, options.device)
            text, corner = _caption_for(options, clip.step)
            yield _draw_caption(pixels, text, corner) if text or corner else pixels
            if progress is not None:
                progress(i + 1, count)

    try:
        if fmt == "gif":
            _write_gif(tmp_name, frames(), options.fps, options.hold_last)
        else:
            _write_av(tmp_name, fmt, frames(), size, options.fps, hold)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    logger.info("wrote %s (%d frames, %dx%d, %s fps)", target, count, size[0], size[1], options.fps)
    return target


def _write_av(
    tmp_name: str, fmt: str, frames: Iterable[np.ndarray], size: tuple[int, int], fps: float, hold: int
) -> None:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a dependency
        raise ConfigError("MP4/WebM export needs PyAV: pip install av") from exc
    codec, codec_options = _CODECS[fmt]
    try:
        container = av.open(tmp_name, "w", format=fmt)
    except OSError as exc:
        raise OutputError(f"cannot write the video: {exc}") from exc
    try:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = dict(codec_options)
        last: np.ndarray | None = None
        for pixels in frames:
            last = pixels
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        if last is not None:
            held = av.VideoFrame.from_ndarray(last, format="rgb24")
            for _ in range(hold):
                for packet in stream.encode(held):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    except av.FFmpegError as exc:
        raise OutputError(f"the video encoder failed: {exc}") from exc
    finally:
        container.close()


def _write_gif(tmp_name: str, frames: Iterable[np.ndarray], fps: float, hold_last: float) -> None:
    """Palette each frame as it comes (1 byte per pixel held), then write them all."""
    from PIL import Image

    images = [Image.fromarray(p).quantize(256, method=Image.Quantize.FASTOCTREE) for p in frames]
    if not images:
        return
    step_ms = round(1000 / fps)
    durations = [step_ms] * len(images)
    durations[-1] += round(1000 * hold_last)
    try:
        images[0].save(
            tmp_name, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0
        )
    except OSError as exc:
        raise OutputError(f"cannot write the GIF: {exc}") from exc


# ---------------------------------------------------------------------- public API
def export_timelapse(
    path: str | os.PathLike[str],
    frames: Sequence[Frame],
    options: VideoOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> Path:
    """Write the recorded frames as a clip (one video frame per recorded frame)."""
    frames = list(frames)
    return _export(
        path, lambda i: _Clip.of_frame(frames[i]), len(frames), options or VideoOptions(), progress, cancel
    )


def replay_counts(num_strokes: int, max_frames: int = REPLAY_MAX_FRAMES) -> list[int]:
    """How many strokes each replay frame shows: 0 (empty canvas) up to all, evenly spaced."""
    if num_strokes <= 0:
        return [0]
    frames = min(num_strokes, max_frames)
    return [0] + [round(num_strokes * (i + 1) / frames) for i in range(frames)]


def export_replay(
    path: str | os.PathLike[str],
    drawing: Drawing,
    options: VideoOptions | None = None,
    *,
    max_frames: int = REPLAY_MAX_FRAMES,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> Path:
    """Stroke by stroke: the empty canvas, then the strokes appearing in paint order.

    One stroke per frame up to ``max_frames`` frames; more strokes than that appear a few
    per frame so the replay keeps a watchable length.
    """
    counts = replay_counts(len(drawing.strokes), max_frames)
    return _export(
        path,
        lambda i: _Clip.of_drawing(drawing, counts[i]),
        len(counts),
        options or VideoOptions(),
        progress,
        cancel,
    )
