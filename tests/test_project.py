"""Project files: exact round trips and clear errors."""

from __future__ import annotations

import json

import pytest

from clipdraw_core.drawing.commands import SetFrozen
from clipdraw_core.errors import FileFormatError
from clipdraw_core.io.project import load_project, project_to_json, save_project
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session


def test_save_load_save_is_identical_and_reopens_the_session(tmp_path, tiny_clip):
    config = SessionConfig(prompt="a lighthouse", negative_prompts=("blurry",), num_paths=12, num_augs=1)
    session = Session(config, tiny_clip)
    session.submit(SetFrozen((session.snapshot().drawing.ids[3],)))
    for _ in range(2):
        snap = session.step()
    first = tmp_path / "one.clipdraw.json"
    save_project(first, session.config, snap.drawing, snap.step)
    project = load_project(first)
    assert project.config == session.config and project.step == 2
    assert project.drawing == snap.drawing and project.drawing.strokes[3].frozen
    second = tmp_path / "two.clipdraw.json"
    save_project(second, project.config, project.drawing, project.step)
    assert first.read_bytes() == second.read_bytes()
    reopened = Session(project.config, tiny_clip, drawing=project.drawing, start_step=project.step)
    assert reopened.snapshot().drawing == snap.drawing and reopened.step_count == 2


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("not json", "not a CLIPDraw Studio project"),
        ('{"format": "something-else"}', "not a CLIPDraw Studio project"),
        ('{"format": "clipdraw-studio-project", "format_version": 99}', "newer CLIPDraw Studio"),
        (
            '{"format": "clipdraw-studio-project", "format_version": 1, "config": {}, '
            '"drawing": {"width": 224}}',
            "damaged",
        ),
    ],
)
def test_bad_project_files(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(FileFormatError, match=fragment):
        load_project(path)


def test_nan_in_project_is_rejected(tmp_path):
    from clipdraw_core.drawing.strokes import default_scene

    data = json.loads(project_to_json(SessionConfig(), default_scene(0, num_paths=2)))
    data["drawing"]["strokes"][0]["points"][0][0] = "NaN"
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(data).replace('"NaN"', "NaN"))
    with pytest.raises(FileFormatError, match="NaN"):
        load_project(path)
    with pytest.raises(FileFormatError, match="cannot read"):
        load_project(tmp_path / "missing.json")
