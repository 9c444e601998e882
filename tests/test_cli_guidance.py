"""clipdraw-cli's issue-12 options: the contract spelled exactly, runs, projects, one-line errors."""

from __future__ import annotations

import pytest

from clipdraw_core import cli
from clipdraw_core.cli_guidance import guidance_from_args, prompt_settings
from clipdraw_core.drawing.guidance import text_prompt_list
from clipdraw_core.io.project import load_project
from clipdraw_core.optim import style as st
from tests.test_cli import tiny_args
from tests.test_prompts import disc_png
from tests.test_style import stripes_png
from tests.test_weights import closed_port_endpoint


def parse(*argv: str):
    return cli.build_parser().parse_args(["a red cat", "-o", "x.svg", *argv])


def test_prompt_options_with_weights():
    args = parse(
        "--add-prompt", "a dog:0.5",
        "--add-prompt", "ratio 16:9 poster",
        "--add-prompt", "no sky:-1",
        "--negative", "blurry:0.8", "ugly",
        "--negative-weight", "0.2",
    )  # fmt: skip
    settings = prompt_settings(args)
    assert settings == {
        "extra_prompts": ("a dog", "ratio 16:9 poster", "no sky"),
        "extra_weights": (0.5, 1.0, -1.0),
        "negative_prompts": ("blurry", "ugly"),
        "negative_weights": (0.8, 0.2),
    }
    # As before: plain negatives take --negative-weight and add no per-prompt weights.
    assert prompt_settings(parse("--negative", "blurry", "ugly")) == {
        "extra_prompts": (),
        "extra_weights": (),
        "negative_prompts": ("blurry", "ugly"),
    }


def test_image_style_and_region_options(tmp_path):
    (tmp_path / "disc.png").write_bytes(disc_png())
    (tmp_path / "style.png").write_bytes(stripes_png())
    args = parse(
        "--image-prompt", f"{tmp_path / 'disc.png'}:-0.5",
        "--image-prompt", str(tmp_path / "disc.png"),
        "--style-image", str(tmp_path / "style.png"),
        "--style-strength", "30",
        "--region", "10,20,50,40", "a yellow sun:2",
        "--region", "100,100,60,60", "a hill",
    )  # fmt: skip
    guidance = guidance_from_args(args)
    assert [(i.name, i.weight) for i in guidance.images] == [("disc.png", -0.5), ("disc.png", 1.0)]
    assert guidance.style.name == "style.png" and guidance.style.strength == 30
    (sun, hill) = guidance.regions
    assert sun.polygon == ((10, 20), (60, 20), (60, 60), (10, 60)) and (sun.prompt, sun.weight) == (
        "a yellow sun",
        2,
    )
    assert (hill.prompt, hill.weight) == ("a hill", 1.0)


def test_a_guided_run_writes_everything_into_the_project(tmp_path, tiny_clip_files):
    (tmp_path / "disc.png").write_bytes(disc_png())
    (tmp_path / "style.png").write_bytes(stripes_png())
    out, proj = tmp_path / "g.svg", tmp_path / "g.cdproj"
    code = cli.main(
        [
            "a red cat", "-o", str(out), "--project", str(proj),
            "--steps", "2", "--paths", "8", "--size", "64",
            "--add-prompt", "a dog:0.5",
            "--negative", "blurry:0.8",
            "--image-prompt", f"{tmp_path / 'disc.png'}:-1",
            "--style-image", str(tmp_path / "style.png"),
            "--style-strength", "20", "--style-weights", "random",
            "--region", "0,0,32,32", "a yellow sun:1.5",
        ]
        + tiny_args(tiny_clip_files)
    )  # fmt: skip
    assert code == 0 and out.is_file()
    project = load_project(proj)
    assert text_prompt_list(project.config) == [("a red cat", 1.0), ("a dog", 0.5), ("blurry", -0.8)]
    assert project.guidance.images[0].weight == -1 and project.guidance.style.strength == 20
    assert project.guidance.regions[0].prompt == "a yellow sun" and project.step == 2


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--region", "1,2,3", "sky"], "X,Y,W,H"),
        (["--region", "500,500,10,10", "sky"], "outside"),
        (["--region", "0,0,-4,10", "sky"], "positive"),
        (["--image-prompt", "/nonexistent/x.png"], "cannot read image"),
        (["--style-image", "/nonexistent/s.png"], "cannot read image"),
        (["--style-image", "STYLE", "--style-strength", "250"], "between 0 and 100"),
    ],
)
def test_bad_guidance_options_are_one_line(tmp_path, capsys, tiny_clip_files, extra, fragment):
    (tmp_path / "style.png").write_bytes(stripes_png())
    extra = [str(tmp_path / "style.png") if e == "STYLE" else e for e in extra]
    out = tmp_path / "bad.svg"
    code = cli.main(
        ["a cat", "-o", str(out), "--steps", "1", "--size", "64", *extra, *tiny_args(tiny_clip_files)]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and fragment in err[0] and not out.exists()


def test_missing_vgg_offline_is_one_line(tmp_path, capsys, tiny_clip_files, monkeypatch):
    import torch.hub

    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    offline = st.VggSource.from_url(f"{closed_port_endpoint()}/models/vgg16-397923af.pth")
    monkeypatch.setattr(st.VggSource, "torchvision", classmethod(lambda cls: offline))
    (tmp_path / "style.png").write_bytes(stripes_png())
    out = tmp_path / "s.svg"
    argv = [
        "a cat",
        "-o",
        str(out),
        "--steps",
        "1",
        "--size",
        "64",
        "--style-image",
        str(tmp_path / "style.png"),
    ]
    code = cli.main(argv + tiny_args(tiny_clip_files))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "VGG-16" in err[0] and "--weights random" in err[0]
    assert not out.exists()


def test_help_lists_the_issue_12_options():
    text = cli.build_parser().format_help()
    for option in [
        "--add-prompt",
        "--negative",
        "--image-prompt",
        "--style-image",
        "--style-strength",
        "--region",
    ]:
        assert option in text


def test_resume_keeps_the_projects_guidance_and_options_replace_parts(tmp_path, tiny_clip_files):
    (tmp_path / "disc.png").write_bytes(disc_png())
    (tmp_path / "style.png").write_bytes(stripes_png())
    first, second = tmp_path / "a.cdproj", tmp_path / "b.cdproj"
    common = ["--style-weights", "random", *tiny_args(tiny_clip_files)]
    argv = ["a red cat", "-o", str(tmp_path / "a.svg"), "--project", str(first), "--steps", "1"]
    argv += ["--paths", "6", "--size", "64", "--image-prompt", str(tmp_path / "disc.png")]
    argv += ["--style-image", str(tmp_path / "style.png"), "--region", "0,0,32,32", "a sun"]
    assert cli.main(argv + common) == 0
    resume = ["a red cat", "-o", str(tmp_path / "b.svg"), "--project", str(second), "--resume", str(first)]
    resume += ["--steps", "2", "--style-strength", "80", "--region", "8,8,40,40", "a moon:0.5"]
    assert cli.main(resume + common) == 0
    before, after = load_project(first).guidance, load_project(second).guidance
    assert after.images == before.images  # kept
    assert after.style.png == before.style.png and after.style.strength == 80  # adjusted
    assert [(r.prompt, r.weight) for r in after.regions] == [("a moon", 0.5)]  # replaced
