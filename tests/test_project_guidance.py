"""Projects carry the prompt list, image prompts, the style image, regions and soft locks (issue 12)."""

from __future__ import annotations

import json

import pytest

from clipdraw_core.drawing.commands import SetRespect
from clipdraw_core.drawing.guidance import Guidance, ImagePrompt, Region, StyleImage
from clipdraw_core.errors import FileFormatError
from clipdraw_core.io.project import load_project, project_from_json, project_to_json, save_project
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from tests.test_prompts import disc_png
from tests.test_style import stripes_png


def full_guidance() -> Guidance:
    return Guidance(
        images=(ImagePrompt("disc.png", disc_png(), -0.5),),
        style=StyleImage("stripes.png", stripes_png(), 35.0, every=4),
        regions=(
            Region.rect(1, 10, 20, 60, 40, "a yellow sun", 1.5, "sun"),
            Region(2, "a hill", ((0, 224), (112, 150), (224, 224)), 0.8, "hill", muted=True),
        ),
        region_views=3,
    )


def test_everything_round_trips_byte_for_byte(tiny_clip, tmp_path):
    config = SessionConfig(
        prompt="a red cat",
        prompt_weight=0.9,
        extra_prompts=("a dog",),
        extra_weights=(-0.4,),
        negative_prompts=("blurry",),
        negative_weights=(0.6,),
        num_paths=6,
        weights="random",
    )
    guidance = full_guidance()
    session = Session(config, tiny_clip, guidance=guidance, style_network=None)
    session.submit(SetRespect((0, 3), 0.4))
    snap = session.step()
    first = save_project(tmp_path / "a.cdproj", session.config, snap.drawing, snap.step, snap.guidance)
    project = load_project(first)
    assert project.config == session.config and project.guidance == guidance
    assert project.drawing == snap.drawing and project.drawing.stroke(3).respect == 0.4
    second = save_project(
        tmp_path / "b.cdproj", project.config, project.drawing, project.step, project.guidance
    )
    assert first.read_bytes() == second.read_bytes()
    data = json.loads(first.read_text())
    assert data["format_version"] == 2 and data["guidance"]["images"][0]["png_base64"]
    # A reopened project continues with everything in force.
    again = Session(project.config, tiny_clip, drawing=project.drawing, guidance=project.guidance)
    assert {"image: disc.png", "region sun: a yellow sun", "style"} <= set(again.step().scores)


def test_plain_projects_stay_version_1(tiny_clip):
    session = Session(SessionConfig(prompt="a cat", num_paths=3), tiny_clip)
    text = project_to_json(session.config, session.drawing())
    assert json.loads(text)["format_version"] == 1 and "guidance" not in json.loads(text)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda g: g["images"][0].update(png_base64="%%%"), "not valid base64"),
        (lambda g: g["images"][0].update(png_base64="aGVsbG8="), "not an image"),
        (lambda g: g["regions"][0].update(polygon=[[0, 0]]), "vertices"),
        (lambda g: g["style"].update(strength=500), "between 0 and 100"),
    ],
)
def test_damaged_guidance_is_one_clear_error(mutate, message):
    config = SessionConfig(prompt="a cat", num_paths=0)
    from clipdraw_core.drawing.strokes import Drawing

    data = json.loads(project_to_json(config, Drawing(), 0, full_guidance()))
    mutate(data["guidance"])
    with pytest.raises(FileFormatError, match=message):
        project_from_json(json.dumps(data), "x.cdproj")


def test_snapshot_plain_form_carries_scores_and_guidance(tiny_clip):
    import pickle

    from clipdraw_core.optim.snapshot import Snapshot

    config = SessionConfig(prompt="a cat", num_paths=4, num_augs=1, width=64, height=64, weights="random")
    session = Session(config, tiny_clip, guidance=full_guidance())
    session.submit(SetRespect((1,), 0.5))
    snap = session.step()
    back = Snapshot.from_plain(pickle.loads(pickle.dumps(snap.to_plain())))
    assert back == snap and back.guidance == full_guidance() and back.scores == snap.scores
    assert back.drawing.stroke(1).respect == 0.5 and back.drawing.stroke(1).anchor is not None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.update(respect=2.0), r"strokes\[0\]\.respect"),
        (lambda s: s.update(respect="0.5"), r"strokes\[0\]\.respect"),
        (lambda s: s["anchor"].update(at_points=[[0, 0]]), "as many points"),
        (lambda s: s["anchor"].update(half_width=float("inf")), r"anchor\.half_width"),
        (lambda s: s.update(anchor=[1, 2]), "must be an object"),
    ],
)
def test_damaged_soft_locks_are_refused_by_the_schema(mutate, message):
    from clipdraw_core.drawing.commands import apply_to_drawing
    from clipdraw_core.drawing.strokes import default_scene

    drawing, _ = apply_to_drawing(default_scene(num_paths=2), SetRespect((0,), 0.5))
    config = SessionConfig(prompt="a cat", num_paths=2)
    data = json.loads(project_to_json(config, drawing))
    assert data["format_version"] == 2
    mutate(data["drawing"]["strokes"][0])
    with pytest.raises(FileFormatError, match=message):
        project_from_json(json.dumps(data), "x.cdproj")
