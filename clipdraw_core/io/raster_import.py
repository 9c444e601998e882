"""Raster sketch (a pencil scan or photo, PNG/JPEG) -> dark centreline strokes.

Pipeline, and why each step:

1. Decode safely: at most :data:`MAX_IMAGE_BYTES` on disk and :data:`MAX_IMAGE_PIXELS`
   decoded (checked from the header, before any pixel is decoded: decompression
   bombs), only raster formats artists scan to; EXIF rotation applied; transparency
   composited over white. Big scans are downscaled first (JPEG DCT draft + thumbnail):
   tracing works at about two pixels per canvas pixel, at most :data:`MAX_WORK_SIDE`.
2. Grayscale, flat-field (divide by the paper brightness, so a shaded photo of a page
   does not turn into ink), Otsu threshold -> dark ink mask; specks removed.
3. Skeletonize (scikit-image) -> 1-px centrelines; the Euclidean distance transform of
   the ink mask at the centreline gives the local half-thickness.
4. Trace the skeleton's 8-connected pixel graph ourselves: diagonal links that duplicate
   a 4-connected step are dropped (so staircases are simple chains), junction pixels are
   grouped, chains are walked between endpoints/junctions and closed loops are walked
   on their own; short spurs (skeleton noise at line ends) are pruned; at each junction
   the pair of branches that continue each other best (most opposite directions) are
   joined, so two crossing lines come back as two strokes, not four.
5. Each chain is mapped into the canvas (aspect preserved, centred), tiny fragments are
   dropped, the longest ``max_strokes`` are kept and fitted with
   :func:`clipdraw_core.drawing.fitting.fit_polyline`; colour = mean original colour along the
   line (opaque), width = median local thickness.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from clipdraw_core.drawing.fitting import fit_polyline
from clipdraw_core.drawing.strokes import MAX_STROKES, Stroke, check_canvas_size
from clipdraw_core.errors import ClipDrawError, FileFormatError
from clipdraw_core.io.fileio import read_regular_file

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_IMAGE_PIXELS = 64_000_000
MAX_WORK_SIDE = 1024
ALLOWED_FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "TIFF")
#: Junction branches are joined when their directions differ by more than this.
_JOIN_MIN_ANGLE_DEG = 120.0
#: Skeleton links this short (work px) between two junctions merge the junctions.
_LINK_PX = 6.0
#: Branches this short (work px) from a junction to a free end are skeleton noise.
_SPUR_PX = 6.0

_OFFSETS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


# --------------------------------------------------------------------------- decoding
def _open_image(source: str | os.PathLike[str] | bytes, target: tuple[int, int]) -> tuple[np.ndarray, str]:
    """Decode to float RGB [H, W, 3] in [0, 1], downscaled to about ``target`` (w, h) at most."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "image data"
    else:
        path = Path(source)
        name = str(path)
        data = read_regular_file(path, MAX_IMAGE_BYTES, "image")
    if len(data) > MAX_IMAGE_BYTES:
        raise FileFormatError(f"{name}: image data is too large (> {MAX_IMAGE_BYTES >> 20} MB)")
    try:
        im: Image.Image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
        w, h = im.size
        if w * h > MAX_IMAGE_PIXELS:
            raise FileFormatError(
                f"{name}: image is too large ({w}x{h} = {w * h / 1e6:.0f} MP > "
                f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP); scan at a lower resolution"
            )
        if im.format == "JPEG":
            im.draft("RGB", target)  # decode at reduced size straight from the DCT
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, rgba)
        im = im.convert("RGB")
        if im.width > target[0] or im.height > target[1]:
            im.thumbnail(target, Image.Resampling.LANCZOS)
        arr = np.asarray(im, dtype=np.float32) / 255.0
    except ClipDrawError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise FileFormatError(
            f"{name}: not a supported image ({', '.join(ALLOWED_FORMATS)}) or too large: {exc}"
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise FileFormatError(f"{name}: damaged or unsupported image: {exc}") from exc
    return arr, name


# --------------------------------------------------------------------------- skeleton graph
def _neighbours(skel: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """Pixel coordinates [N, 2] (row, col) and adjacency lists without redundant diagonals."""
    coords = np.argwhere(skel)
    h, w = skel.shape
    index = -np.ones((h + 2, w + 2), dtype=np.int64)
    index[coords[:, 0] + 1, coords[:, 1] + 1] = np.arange(len(coords))
    adj: list[list[int]] = [[] for _ in range(len(coords))]
    r = coords[:, 0] + 1
    c = coords[:, 1] + 1
    for dy, dx in _OFFSETS:
        other = index[r + dy, c + dx]
        has = other >= 0
        if dy != 0 and dx != 0:
            # drop the diagonal when a 4-connected detour exists (staircase / corner)
            has &= (index[r + dy, c] < 0) & (index[r, c + dx] < 0)
        for i, j in zip(np.nonzero(has)[0].tolist(), other[has].tolist(), strict=True):
            adj[i].append(j)
    return coords, adj


def _trace(skel: np.ndarray) -> list[list[int]]:
    """Split the skeleton into pixel chains (lists of indices into the coords array).

    Returns chains between nodes (endpoints/junctions) and closed loops (first == last).
    """
    coords, adj = _neighbours(skel)
    self_chains: list[list[int]] = []
    deg = np.array([len(a) for a in adj])
    visited: set[tuple[int, int]] = set()

    def edge(a: int, b: int) -> tuple[int, int]:
        return (a, b) if a < b else (b, a)

    for start in np.nonzero(deg != 2)[0].tolist():
        for nxt in adj[start]:
            if edge(start, nxt) in visited:
                continue
            chain = [start, nxt]
            visited.add(edge(start, nxt))
            prev, cur = start, nxt
            while deg[cur] == 2:
                a, b = adj[cur]
                step = b if a == prev else a
                if edge(cur, step) in visited:
                    break
                visited.add(edge(cur, step))
                chain.append(step)
                prev, cur = cur, step
            self_chains.append(chain)
    # closed loops consist of degree-2 pixels only and were never reached above
    for start in np.nonzero(deg == 2)[0].tolist():
        a, _ = adj[start]
        if edge(start, a) in visited:
            continue
        chain = [start]
        prev, cur = -1, start
        while True:
            x, y = adj[cur]
            step = y if x == prev else x
            if prev == -1:
                step = x
            if edge(cur, step) in visited:
                break
            visited.add(edge(cur, step))
            chain.append(step)
            prev, cur = cur, step
            if cur == start:
                break
        if len(chain) > 2:
            self_chains.append(chain)
    return _join_at_junctions(self_chains, coords, deg)


def _join_at_junctions(chains: list[list[int]], coords: np.ndarray, deg: np.ndarray) -> list[list[int]]:
    """Prune spurs and join the branches that continue each other at every junction."""
    from scipy import ndimage

    # Group junction pixels (degree >= 3) into clusters.
    junction = deg >= 3
    cluster_of = -np.ones(len(coords), dtype=np.int64)
    if junction.any():
        jc = coords[junction]
        lo = jc.min(axis=0)
        grid = np.zeros(tuple(jc.max(axis=0) - lo + 1), dtype=bool)
        grid[tuple((jc - lo).T)] = True
        labels, _ = ndimage.label(grid, structure=np.ones((3, 3)))
        cluster_of[np.nonzero(junction)[0]] = labels[tuple((jc - lo).T)] - 1

    parent = list(range(int(cluster_of.max()) + 1))

    def find(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    def node(pixel: int) -> int:
        c = int(cluster_of[pixel])
        return find(c) if c >= 0 else -1

    def length(ch: list[int]) -> float:
        p = coords[ch].astype(np.float64)
        return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())

    # Junctions joined by a very short link are one junction (skeletons of crossings
    # often split into two nearby branch points); the link itself is dropped.
    kept = []
    for ch in chains:
        a, b = node(ch[0]), node(ch[-1])
        if a >= 0 and b >= 0 and length(ch) <= _LINK_PX:
            parent[find(a)] = find(b)
        else:
            kept.append(ch)
    chains = []
    for ch in kept:
        a, b = node(ch[0]), node(ch[-1])
        if (a >= 0) != (b >= 0) and length(ch) < _SPUR_PX:
            continue  # spur: a short branch from a junction to a free end
        chains.append(ch)

    # ends[cluster] = list of (chain index, at_start, outward direction)
    ends: dict[int, list[tuple[int, bool, np.ndarray]]] = defaultdict(list)
    for k, ch in enumerate(chains):
        for at_start in (True, False):
            pix = ch[0] if at_start else ch[-1]
            cl = node(pix)
            if cl < 0:
                continue
            seq = ch if at_start else ch[::-1]
            # skip the first pixels, which bend towards the junction point
            near = coords[seq[min(len(seq) - 1, 3)]].astype(np.float64)
            far = coords[seq[min(len(seq) - 1, 15)]].astype(np.float64)
            d = far - near if len(seq) > 6 else far - coords[seq[0]]
            n = float(np.linalg.norm(d))
            ends[cl].append((k, at_start, d / n if n > 0 else d))
    # link[(k, at_start)] = (other k, other at_start)
    link: dict[tuple[int, bool], tuple[int, bool]] = {}
    cos_limit = math.cos(math.radians(_JOIN_MIN_ANGLE_DEG))
    for items in ends.values():
        pairs = []
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                if items[i][0] == items[j][0]:
                    continue  # both ends of one chain at one junction: leave it a loop
                pairs.append((float(items[i][2] @ items[j][2]), i, j))
        pairs.sort()
        used: set[int] = set()
        for cos, i, j in pairs:
            if i in used or j in used or (cos > cos_limit and len(items) > 2):
                continue
            used.update((i, j))
            end_a, end_b = items[i], items[j]
            link[(end_a[0], end_a[1])] = (end_b[0], end_b[1])
            link[(end_b[0], end_b[1])] = (end_a[0], end_a[1])
    # Walk the links to build merged chains.
    done = [False] * len(chains)
    merged: list[list[int]] = []

    def walk(k: int, from_start: bool) -> list[int]:
        """Follow chain k entering at its start (from_start) and keep following links."""
        out: list[int] = []
        while not done[k]:
            done[k] = True
            seq = chains[k] if from_start else chains[k][::-1]
            out.extend(seq if not out else seq[1:])
            nxt = link.get((k, not from_start))
            if nxt is None:
                break
            k, from_start = nxt
        return out

    for k in range(len(chains)):
        if done[k]:
            continue
        # go back to a free end first (a chain with no link at its start), if any
        cur, at_start, steps = k, True, 0
        while (cur, at_start) in link and steps <= len(chains):
            cur, other_start = link[(cur, at_start)]
            at_start = not other_start
            steps += 1
            if cur == k:
                break
        merged.append(walk(cur, at_start))
    return [[int(i) for i in m] for m in merged if len(m) >= 2] if coords.size else []


# --------------------------------------------------------------------------- public API
def load_image_strokes(
    source: str | os.PathLike[str] | bytes,
    canvas_width: int,
    canvas_height: int,
    *,
    first_id: int = 0,
    frozen: bool = False,
    max_strokes: int = 256,
    tolerance: float = 1.0,
) -> list[Stroke]:
    """Trace the dark lines of a scanned/photographed sketch into strokes on the canvas.

    The image is fitted into the canvas (aspect preserved, centred). At most
    ``max_strokes`` strokes are returned (the longest lines win), numbered from
    ``first_id`` in order of decreasing length; ``tolerance`` (canvas px) goes to the
    curve fitting. Raises :class:`~clipdraw_core.errors.FileFormatError` for unreadable,
    oversized or blank images (see the module docstring for the pipeline).
    """
    from scipy import ndimage
    from skimage.filters import threshold_otsu
    from skimage.morphology import remove_small_objects, skeletonize

    check_canvas_size(canvas_width, canvas_height)
    max_strokes = max(1, min(int(max_strokes), MAX_STROKES))
    side = min(MAX_WORK_SIDE, 2 * max(canvas_width, canvas_height))
    rgb, name = _open_image(source, (side, side))
    h, w = rgb.shape[:2]
    if min(h, w) < 8:
        raise FileFormatError(f"{name}: image is too small ({w}x{h} px) to trace")
    gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if float(gray.max() - gray.min()) < 0.1:
        raise FileFormatError(f"{name}: the image is blank (no dark lines to trace)")
    if float(np.median(gray)) < 0.35:
        raise FileFormatError(f"{name}: most of the image is dark; expected dark lines on light paper")
    # Flat-field: divide by the paper's brightness (a dilated, blurred copy without the
    # thin dark lines) so shading across a photographed page does not become "ink".
    size = max(5, round(min(h, w) / 25))
    paper = ndimage.gaussian_filter(ndimage.grey_dilation(gray, size=(size, size)), size / 2)
    flat = np.clip(gray / np.maximum(paper, 1e-3), 0.0, 1.0)
    if float(flat.max() - flat.min()) < 0.1:
        raise FileFormatError(f"{name}: the image is blank (no dark lines to trace)")
    ink = flat < threshold_otsu(flat)
    if ink.mean() > 0.5:
        raise FileFormatError(
            f"{name}: more than half of the image is dark; expected dark lines on light paper"
        )
    ink = remove_small_objects(ink, max_size=4) if _has_max_size() else remove_small_objects(ink, 5)
    if not ink.any():
        raise FileFormatError(f"{name}: no dark lines found in the image")
    dist = ndimage.distance_transform_edt(ink)
    skel = skeletonize(ink)
    chains = _trace(skel)
    coords = np.argwhere(skel)

    # image pixel centres -> canvas: scale k, centred
    k = min(canvas_width / w, canvas_height / h)
    offset = np.array([(canvas_width - k * w) / 2.0, (canvas_height - k * h) / 2.0])
    min_len = max(3.0, 2.0 * float(tolerance))
    lines = []
    for ch in chains:
        rc = coords[ch]
        xy = (rc[:, ::-1].astype(np.float64) + 0.5) * k + offset
        length = float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum())
        if length < min_len:
            continue
        lines.append((length, xy, rc))
    if not lines:
        raise FileFormatError(f"{name}: no lines long enough to trace were found")
    lines.sort(key=lambda item: -item[0])
    if len(lines) > max_strokes:
        logger.info("%s: keeping the %d longest of %d traced lines", name, max_strokes, len(lines))
        lines = lines[:max_strokes]
    # A work pixel is k canvas px: the pixel staircase must not count as detail.
    tol = max(float(tolerance), 0.75 * k)
    strokes = []
    for n, (_, xy, rc) in enumerate(lines):
        thickness = float(np.median(dist[rc[:, 0], rc[:, 1]]))
        closed = len(rc) > 8 and np.abs(rc[0] - rc[-1]).max() <= max(3.0, 2.0 * thickness)
        pts = fit_polyline(_smooth(xy, closed), tol, corner_angle_deg=60.0)
        if closed:
            pts = np.array(pts)
            pts[-1] = pts[0]  # close the loop exactly
        half = float(np.clip((thickness - 0.5) * k, 0.5, 50.0))
        r, g, b = (float(c) for c in rgb[rc[:, 0], rc[:, 1]].mean(axis=0))
        strokes.append(Stroke(first_id + n, pts, half, (r, g, b, 1.0), frozen))
    logger.info("traced %d strokes from %s", len(strokes), name)
    return strokes


def _smooth(xy: np.ndarray, closed: bool) -> np.ndarray:
    """3-tap moving average (twice) against the pixel staircase; open ends stay put."""
    if len(xy) < 5:
        return xy
    out: np.ndarray = xy.copy()
    for _ in range(2):
        if closed:
            out = (np.roll(out, 1, axis=0) + out + np.roll(out, -1, axis=0)) / 3.0
        else:
            out[1:-1] = (out[:-2] + out[1:-1] + out[2:]) / 3.0
    return out


def _has_max_size() -> bool:
    """scikit-image >= 0.26 renamed remove_small_objects(min_size) to max_size."""
    import inspect

    from skimage.morphology import remove_small_objects

    return "max_size" in inspect.signature(remove_small_objects).parameters
