"""The look settings in a running session (issue 11): palette, ink, width range, shapes,
canvas shape, paper and presets.  Tiny random CLIP, CPU, seeded."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from clipdraw_core.drawing.palette import hex_to_rgb
from clipdraw_core.errors import ConfigError
from clipdraw_core.io.svg_export import drawing_to_svg
from clipdraw_core.optim.augment import coverage_views, view_grids
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.presets import apply_preset, builtin_presets, find_preset
from clipdraw_core.optim.session import Session
from clipdraw_core.render import render_drawing, render_drawing_rgba

PALETTE = ("#1d2b53", "#ff004d", "#ffec27", "#00e436", "#fff1e8")


def config(**kw) -> SessionConfig:
    base = {"prompt": "a red cat", "num_paths": 24, "num_steps": 100, "num_augs": 1, "lr_color": 0.05}
    base.update(kw)
    return SessionConfig(**base)


def svg_colours(svg: str) -> tuple[list[str], list[float]]:
    """Every stroke/fill colour and its opacity in an exported SVG (the paper excluded)."""
    body = svg.split('clipdraw:role="background"')[-1] if 'clipdraw:role="background"' in svg else svg
    paths = re.findall(r"<path [^>]*>", body)
    colours, opacities = [], []
    for p in paths:
        for kind in ("stroke", "fill"):
            m = re.search(rf' {kind}="(#[0-9a-f]{{6}})"', p)
            if m:
                colours.append(m.group(1))
                opacities.append(float(re.search(rf' {kind}-opacity="([0-9.]+)"', p).group(1)))
    return colours, opacities


def palette_gap(drawing, palette) -> float:
    pal = np.array([hex_to_rgb(h) for h in palette])
    rgb = np.array([s.color[:3] for s in drawing.strokes])
    return float(((rgb[:, None] - pal[None]) ** 2).sum(-1).min(1).mean())


def test_hard_palette_every_exported_colour_is_an_entry(tiny_clip) -> None:
    session = Session(config(palette=PALETTE, num_shapes=6), tiny_clip)
    start = session.snapshot().drawing
    for _ in session.run(30):
        pass
    drawing = session.snapshot().drawing
    colours, opacities = svg_colours(drawing_to_svg(drawing, palette=PALETTE))
    assert len(colours) == 30  # 24 strokes + 6 fills
    assert set(colours) <= set(PALETTE)
    assert len(set(colours)) >= 2
    assert len(set(opacities)) > 5  # alpha stays free
    # the colours really are the entries (not just close), in the engine's data too
    for s in drawing.strokes:
        target = s.fill if s.closed else s.color
        assert any(np.allclose(target[:3], hex_to_rgb(h), atol=1e-6) for h in PALETTE)
    # optimised: the latent colours moved
    assert not torch.equal(
        session._colors.detach()[:, :3], torch.tensor([s.color[:3] for s in start.strokes])
    )


def test_hard_opaque_palette_forces_alpha_one(tiny_clip) -> None:
    session = Session(config(palette=PALETTE, palette_opaque=True, num_paths=8), tiny_clip)
    for _ in session.run(3):
        pass
    assert all(s.color[3] == 1.0 for s in session.snapshot().drawing.strokes)


def test_soft_palette_pulls_colours_towards_entries(tiny_clip) -> None:
    session = Session(config(palette=PALETTE, palette_mode="soft", palette_strength=50.0), tiny_clip)
    before = palette_gap(session.snapshot().drawing, PALETTE)
    for _ in session.run(30):
        pass
    after = palette_gap(session.snapshot().drawing, PALETTE)
    assert after < 0.7 * before
    # but colours are free, not snapped
    colours, _ = svg_colours(drawing_to_svg(session.snapshot().drawing))
    assert not set(colours) <= set(PALETTE)


def test_ink_mode_one_colour_opaque_widths_in_range(tiny_clip) -> None:
    cfg = config(ink="#112233", min_half_width=0.75, max_half_width=1.5, background=hex_to_rgb("#faf5e6"))
    session = Session(cfg, tiny_clip)
    for _ in session.run(30):
        pass
    drawing = session.snapshot().drawing
    svg = drawing_to_svg(drawing)
    colours, opacities = svg_colours(svg)
    assert set(colours) == {"#112233"} and set(opacities) == {1.0}
    widths = [float(w) for w in re.findall(r'stroke-width="([0-9.]+)"', svg)]
    assert len(widths) == 24 and min(widths) >= 1.5 - 1e-6 and max(widths) <= 3.0 + 1e-6
    assert len(set(widths)) > 3  # widths are optimised within the range
    assert 'fill="#faf5e6"' in svg  # the paper colour


def test_width_range_clamps_initial_widths_too(tiny_clip) -> None:
    session = Session(config(min_half_width=2.0, max_half_width=3.0, num_steps=0), tiny_clip)
    assert {s.half_width for s in session.snapshot().drawing.strokes} == {2.0}


def test_shapes_only_session_optimises_fills_and_boundaries(tiny_clip) -> None:
    session = Session(config(num_paths=0, num_shapes=8), tiny_clip)
    start = session.snapshot().drawing
    assert len(start.strokes) == 8 and all(s.closed for s in start.strokes)
    for _ in session.run(5):
        pass
    end = session.snapshot().drawing
    assert all(s.closed for s in end.strokes)
    moved = max(np.abs(a.points - b.points).max() for a, b in zip(start.strokes, end.strokes, strict=True))
    refilled = max(
        np.abs(np.array(a.fill) - np.array(b.fill)).max()
        for a, b in zip(start.strokes, end.strokes, strict=True)
    )
    assert moved > 0.1 and refilled > 1e-3


def test_shapes_sit_below_the_strokes(tiny_clip) -> None:
    drawing = Session(config(num_paths=5, num_shapes=3, num_steps=0), tiny_clip).snapshot().drawing
    assert [s.closed for s in drawing.strokes] == [True] * 3 + [False] * 5
    assert [s.id for s in drawing.strokes] == list(range(8))


def test_non_square_views_cover_the_whole_canvas() -> None:
    """Count the canvas pixels a 320x200 step's views sample (bilinear footprints)."""
    w, h = 320, 200
    n = coverage_views(w, h)
    assert n == 8 and coverage_views(224, 224) == 1

    def covered(grid: torch.Tensor) -> np.ndarray:
        x = (grid[..., 0] + 1) / 2 * w - 0.5
        y = (grid[..., 1] + 1) / 2 * h - 0.5
        hit = np.zeros((h, w), bool)
        for dx in (0, 1):
            for dy in (0, 1):
                xi, yi = (x.floor() + dx).long(), (y.floor() + dy).long()
                ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
                hit[yi[ok].numpy(), xi[ok].numpy()] = True
        return hit

    for seed in range(3):
        hit = covered(view_grids(w, h, n, 224, torch.Generator().manual_seed(seed)))
        assert hit.all(), f"seed {seed}: {int((~hit).sum())} pixels never sampled"
        assert hit[0, 0] and hit[0, -1] and hit[-1, 0] and hit[-1, -1]
    # the portrait canvas too
    g = view_grids(200, 320, coverage_views(200, 320), 224, torch.Generator().manual_seed(0))
    assert g.shape == (8, 224, 224, 2)


def test_non_square_session_sizes_and_svg(tiny_clip) -> None:
    session = Session(config(width=320, height=200, num_paths=12, num_shapes=2), tiny_clip)
    assert session.num_views == 8
    snap = next(session.run(1))
    assert (snap.drawing.width, snap.drawing.height) == (320, 200)
    svg = drawing_to_svg(snap.drawing)
    assert 'width="320px" height="200px" viewBox="0 0 320 200"' in svg
    assert render_drawing(snap.drawing).shape == (200, 320, 3)
    assert render_drawing_rgba(snap.drawing).shape == (200, 320, 4)
    pts = np.concatenate([s.points for s in snap.drawing.strokes])
    assert pts[:, 0].max() > 200  # random strokes use the whole width


def test_transparent_export_alpha_zero_where_nothing_is_drawn() -> None:
    from clipdraw_core.drawing.strokes import Drawing, Stroke

    square = [
        [10, 10],
        [20, 10],
        [30, 10],
        [40, 10],
        [40, 20],
        [40, 30],
        [40, 40],
        [30, 40],
        [20, 40],
        [10, 40],
    ]
    square += [[10, 30], [10, 20]]
    drawing = Drawing(
        64,
        48,
        (0.9, 0.2, 0.2),
        (
            Stroke(0, square, 1.0, (0, 0, 0, 1), fill=(0.0, 0.0, 1.0, 0.5), outlined=False),
            Stroke(1, [[45, 5], [50, 10], [55, 15], [60, 20]], 1.5, (0.0, 0.6, 0.0, 1.0)),
        ),
    )
    rgba = render_drawing_rgba(drawing)
    assert rgba.shape == (48, 64, 4)
    assert (rgba[30:46, 45:, 3] == 0).all() and (rgba[:8, :8, 3] == 0).all()  # paper left out
    assert rgba[25, 25].tolist() == [0, 0, 255, 128]  # half-transparent blue fill, straight colour
    assert rgba[12, 52, 3] == 255
    # over the paper colour it is the normal render
    png = io.BytesIO()
    Image.fromarray(rgba).save(png, format="PNG")
    back = np.asarray(Image.open(io.BytesIO(png.getvalue())))
    assert back.shape == (48, 64, 4)
    a = back[..., 3:].astype(float) / 255
    over = back[..., :3] * a + np.array([0.9, 0.2, 0.2]) * 255 * (1 - a)
    assert np.abs(over - render_drawing(drawing)).max() <= 2.0
    svg = drawing_to_svg(drawing, transparent=True)
    assert "<rect" not in svg and 'clipdraw:role="background"' not in svg
    assert "<rect" in drawing_to_svg(drawing)


def test_presets_fill_the_settings_and_run(tiny_clip) -> None:
    names = [p.name for p in builtin_presets()]
    assert names == ["CLIPDraw (paper)", "Ink sketch", "Poster (palette, shapes)", "Flat shapes"]
    base = config(num_steps=2)
    ink = apply_preset(base, "ink sketch")
    assert ink.ink is not None and ink.prompt == base.prompt and ink.num_steps == 2
    poster = apply_preset(base, "Poster")
    assert poster.palette and poster.num_shapes > 0 and poster.palette_mode == "hard"
    flat = apply_preset(base, "Flat shapes")
    assert flat.num_paths == 0 and flat.num_shapes > 0
    paper = apply_preset(ink, "CLIPDraw (paper)")
    assert paper.ink is None and paper.num_paths == 256 and paper.palette == ()
    # never hides a setting: a preset followed by a change is a plain config
    assert apply_preset(base, "Ink sketch").replace(max_half_width=4.0).max_half_width == 4.0
    with pytest.raises(ConfigError, match="unknown preset"):
        find_preset("watercolour")
    for name in names:
        cfg = apply_preset(base, name).replace(num_paths=min(apply_preset(base, name).num_paths, 8))
        cfg = cfg.replace(num_shapes=min(cfg.num_shapes, 4))
        snap = next(Session(cfg, tiny_clip).run(1))
        assert snap.loss is not None


def test_look_settings_survive_a_project_round_trip(tmp_path, tiny_clip) -> None:
    from clipdraw_core.io.project import load_project, save_project

    cfg = apply_preset(config(num_steps=1), "Poster").replace(num_paths=4, num_shapes=2)
    session = Session(cfg, tiny_clip)
    snap = next(session.run(1))
    back = load_project(save_project(tmp_path / "p.json", cfg, snap.drawing, snap.step))
    assert back.config == cfg and back.config.palette == cfg.palette
    assert [s.fill for s in back.drawing.strokes] == [s.fill for s in snap.drawing.strokes]


def test_bad_look_settings_are_one_line_errors() -> None:
    for kw, fragment in [
        ({"palette": ("#000000",)}, "2 to 32"),
        ({"palette": ("#000000", "nope")}, "not a colour"),
        ({"palette_mode": "medium"}, "palette mode"),
        ({"ink": "black"}, "not a colour"),
        ({"num_shapes": -1}, "between"),
        ({"min_half_width": 3.0, "max_half_width": 2.0}, "exceeds"),
    ]:
        with pytest.raises(ConfigError, match=fragment):
            config(**kw).validate()


def test_look_changes_mid_run_and_undo(tiny_clip) -> None:
    from clipdraw_core.drawing.commands import SetLook, apply_to_drawing

    session = Session(config(num_paths=10), tiny_clip)
    next(session.run(2))
    free_colours = [s.color for s in session.snapshot().drawing.strokes]
    old = session.config
    session.submit(
        SetLook.of(ink="#0000ff", min_half_width=2.0, max_half_width=2.5, background=(1.0, 1.0, 0.9))
    )
    snap = next(session.run(1))
    assert {s.color for s in snap.drawing.strokes} == {(0.0, 0.0, 1.0, 1.0)}
    assert all(2.0 <= s.half_width <= 2.5 for s in snap.drawing.strokes)
    assert snap.drawing.background == pytest.approx((1.0, 1.0, 0.9))
    # undo: the same command with the old values; the free colours come back (moved by one step)
    session.submit(SetLook.of(ink=old.ink, background=old.background))
    back = session.apply_pending().drawing
    assert back.background == (1.0, 1.0, 1.0)
    gap = max(
        np.abs(np.subtract(a, b.color)).max() for a, b in zip(free_colours, back.strokes, strict=True)
    )
    assert gap < 0.2
    # fixed once running: a canvas or mix change is refused, a bad value is a note, not a crash
    with pytest.raises(ConfigError, match="during a run"):
        SetLook.of(num_shapes=3)
    session.submit(SetLook.of(palette=("#000000",)))
    snap = session.apply_pending()
    assert any("SetLook ignored" in m for m in snap.messages) and session.config.palette == ()
    # the paper colour also applies to a drawing before any session exists
    drawing, _ = apply_to_drawing(snap.drawing, SetLook.of(background=(0.0, 0.0, 0.0)))
    assert drawing.background == (0.0, 0.0, 0.0)


def test_look_values_are_checked_on_their_own_as_validate_checks_them():
    """What a mid-run SetLook from a client may carry (the server asks before the engine sees it)."""
    from clipdraw_core.errors import ConfigError
    from clipdraw_core.optim.config import SessionConfig

    SessionConfig.check_look({"palette": ["#000000", "#FFFFFF"], "ink": None, "max_half_width": 3})
    SessionConfig.check_look({"palette": [], "min_half_width": 60.0})  # the session's max decides
    for changes, fragment in [
        ({"palette": ["#000000"]}, "2 to 32"),
        ({"ink": "black"}, "not a colour"),
        ({"min_half_width": 4, "max_half_width": 3}, "exceeds"),
        ({"max_half_width": 2e4}, "between 0 and 10000"),
        ({"palette_opaque": "no"}, "true or false"),
        ({"seed": 3}, "seed"),
    ]:
        with pytest.raises(ConfigError, match=fragment):
            SessionConfig.check_look(changes)
    with pytest.raises(ConfigError, match="between 0 and 10000"):
        SessionConfig(max_half_width=2e4).validate()
