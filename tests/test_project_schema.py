"""Project files checked against a schema before anything is built (issue 15, defects 6, 7)."""

from __future__ import annotations

import json
import os
import time

import pytest

from clipdraw_core.drawing.strokes import default_scene
from clipdraw_core.errors import ClipDrawError, FileFormatError
from clipdraw_core.io import project_schema
from clipdraw_core.io.project import load_project, project_from_json, project_to_json
from clipdraw_core.io.project_schema import MAX_PROJECT_BYTES, ProjectSchemaError
from clipdraw_core.optim.config import SessionConfig


def good() -> dict:
    return json.loads(project_to_json(SessionConfig(num_paths=2), default_scene(0, num_paths=2), step=3))


def mutated(edit) -> str:
    data = good()
    edit(data)
    return json.dumps(data)


def set_path(data: dict, path: str, value) -> None:
    keys = path.split("/")
    node = data
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def test_a_good_project_passes():
    project = project_from_json(json.dumps(good()))
    assert project.step == 3 and len(project.drawing.strokes) == 2


# Each hostile value from the issue: the message names where the problem is.
@pytest.mark.parametrize(
    "path, value, fragment",
    [
        ("drawing/strokes/0/id", 10**30, "drawing.strokes[0].id must be between"),
        ("drawing/strokes/0/half_width", 10**30, "half_width must be at most"),
        ("config/num_steps", 10**30, "config.num_steps"),
        ("step", 10**30, "step must be between"),
        ("drawing/strokes/0/id", 1e300, "drawing.strokes[0].id must be an integer"),
        ("drawing/strokes/0/half_width", 1e300, "must be a finite number"),
        ("drawing/strokes/0/color", [0.5, 1e300, 0, 1], "color[1] must be a finite number"),
        ("config/lr_points", 1e300, "config.lr_points must be a finite number"),
        ("drawing", "x", "drawing must be an object, got str"),
        ("drawing/strokes", "x", "drawing.strokes must be a list"),
        ("drawing/strokes/0", 7, "drawing.strokes[0] must be an object"),
        ("drawing/strokes/1/frozen", "false", "drawing.strokes[1].frozen must be true or false, got 'false'"),
        ("drawing/strokes/0/points/0", ["12", 3], "points[0].x must be a number, got '12'"),
        ("drawing/strokes/0/points/0", [True, 3], "points[0].x must be a number, got True"),
        ("drawing/strokes/0/points/0", [1, 2, 3], "must be a pair"),
        ("drawing/strokes/0/points", [[0, 0]] * 5, "must hold 3k+1 points"),
        ("drawing/strokes/1/id", None, "drawing.strokes[1].id must be an integer"),
        ("config/seed", 10**30, "config.seed: "),
        ("config/seed", -1, "config.seed: "),
        ("config/renderer", "bogus", "config.renderer must be one of auto, torch, diffvg"),
        ("config/device", "tpu9", "config.device must be auto, cpu"),
        ("config/prompt", "a \ud800 cat", "config.prompt is not valid text"),
        ("config/prompt", 5, "config.prompt must be text"),
        ("config/negative_prompts", "blurry", "config.negative_prompts must be a list"),
        ("config/crop_scale", [0.5], "config.crop_scale must have 2 values"),
        ("config/num_augs", 0, "config.num_augs: augmentations (--augs) must be an integer between 1 and 64"),
        ("config/extra", {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}, "nested too deeply"),
        ("format_version", 0, "format_version must be a whole number >= 1, got 0"),
        ("format_version", -7, "format_version must be a whole number >= 1, got -7"),
        ("format_version", True, "format_version must be a whole number >= 1, got True"),
        ("format_version", "1", "format_version must be a whole number >= 1, got '1'"),
    ],
)
def test_hostile_values_are_one_clear_line(path, value, fragment):
    text = mutated(lambda d: set_path(d, path, value))
    with pytest.raises(FileFormatError) as info:
        project_from_json(text, "p.json")
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert message.startswith("p.json ")


def test_every_problem_is_listed_one_line_each():
    def edit(d):
        d["drawing"]["strokes"][0]["frozen"] = "false"
        d["drawing"]["strokes"][1]["half_width"] = "2"
        d["config"]["seed"] = 10**30

    with pytest.raises(ProjectSchemaError) as info:
        project_from_json(mutated(edit), "p.json")
    assert len(info.value.problems) == 3 and "(and 2 more problems)" in str(info.value)
    assert all("\n" not in p for p in info.value.problems)


def test_duplicate_ids_and_size_mismatch():
    def dup(d):
        d["drawing"]["strokes"][1]["id"] = d["drawing"]["strokes"][0]["id"]

    with pytest.raises(FileFormatError, match="is used by another stroke"):
        project_from_json(mutated(dup))
    with pytest.raises(FileFormatError, match="canvas size disagrees"):
        project_from_json(mutated(lambda d: set_path(d, "drawing/width", 100)))


@pytest.mark.parametrize(
    "literal, fragment",
    [
        ("1e400", "finite number"),
        ("Infinity", "finite number"),
        ("-Infinity", "finite number"),
        ("NaN", "finite number"),
        ("1" * 5000, "more than 100 digits"),
        ("1" * 30, "half_width must be at most"),
    ],
)
def test_json_literals_python_would_misread(literal, fragment):
    text = json.dumps(good()).replace('"half_width": 1.0', f'"half_width": {literal}', 1)
    assert literal in text
    with pytest.raises(FileFormatError, match=fragment):
        project_from_json(text)


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deep_nesting_is_a_clear_error(depth):
    text = json.dumps(good())
    text = text.replace('"extra": {}', '"extra": ' + "[" * depth + "]" * depth)
    start = time.monotonic()
    with pytest.raises(FileFormatError, match="nested"):
        project_from_json(text)
    assert time.monotonic() - start < 5


def test_a_huge_project_is_refused_before_parsing(tmp_path, monkeypatch):
    """10^6 strokes (the issue's 49 MB file) are refused by size; a compact file by stroke count."""

    def no_parsing(*args, **kwargs):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(project_schema.json, "loads", no_parsing)
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:  # sparse: no disk needed
        handle.truncate(MAX_PROJECT_BYTES + 1)
    with pytest.raises(FileFormatError, match="too large"):
        load_project(big)
    stroke = '{"id":0,"points":[[0,0],[1,1],[2,2],[3,3]]}'
    many = tmp_path / "many.json"
    strokes = ",".join([stroke] * 6000)
    many.write_text('{"format":"clipdraw-studio-project","drawing":{"strokes":[' + strokes + "]}}")
    start = time.monotonic()
    with pytest.raises(FileFormatError, match="too many strokes"):
        load_project(many)
    assert time.monotonic() - start < 1


@pytest.mark.skipif(os.name != "posix", reason="FIFOs")
def test_a_fifo_or_a_folder_is_not_a_project(tmp_path):
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(FileFormatError, match="FIFO"):
        load_project(tmp_path / "pipe.json")
    with pytest.raises(FileFormatError, match="a folder"):
        load_project(tmp_path)


def test_not_utf8_is_one_line(tmp_path):
    (tmp_path / "latin.json").write_bytes(b'{"format": "caf\xe9"}')
    with pytest.raises(ClipDrawError, match="not UTF-8"):
        load_project(tmp_path / "latin.json")
