"""Style image (StyleCLIPDraw's style loss on VGG-16) and the VGG-16 weights download (issue 12).

The download runs for real (torch.hub.download_url_to_file) against the fake server of
tests/test_weights.py on 127.0.0.1, serving a small VGG-16 checkpoint (the
convolutional part of a random VGG-16, in float16 to keep the test light).
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
import torch
from PIL import Image

from clipdraw_core.drawing.commands import SetStyle
from clipdraw_core.drawing.guidance import Guidance, StyleImage
from clipdraw_core.errors import ConfigError, WeightsError
from clipdraw_core.optim import style as st
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from tests.test_weights import FakeHub, closed_port_endpoint


def stripes_png(size: int = 64) -> bytes:
    img = np.zeros((size, size, 3), np.uint8)
    img[:, ::8] = (240, 200, 20)
    img[:, 1::8] = (240, 200, 20)
    img[::6, :] = (20, 40, 200)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def cfg(**kw) -> SessionConfig:
    base = {
        "prompt": "a red cat",
        "num_paths": 24,
        "num_steps": 100,
        "num_augs": 1,
        "width": 64,
        "height": 64,
        "weights": "random",
    }
    base.update(kw)
    return SessionConfig(**base)


def test_style_validation():
    with pytest.raises(ConfigError, match="between 0 and 100"):
        StyleImage("s", stripes_png(), 101)
    with pytest.raises(ConfigError, match="every N steps"):
        StyleImage("s", stripes_png(), 50, 0)


def test_random_style_network_is_deterministic_and_has_the_papers_layers():
    a, b = st.load_style_network("random"), st.load_style_network("random")
    assert all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    feats = a(torch.rand(1, 3, 32, 32))
    assert [f.shape[1] for f in feats] == [64, 64, 128, 128, 256, 256, 256, 512, 512]


def test_style_loss_falls_with_a_random_vgg(tiny_clip):
    """--weights random: the style network is random too, and the drawing moves towards the style."""
    style = StyleImage("stripes.png", stripes_png(), strength=100, every=1)
    session = Session(cfg(prompt_weight=0.0), tiny_clip, guidance=Guidance(style=style))
    assert session.steering.style_network is not None
    assert session.steering.style_network.description == "random"
    losses = [session.step().scores["style"] for _ in range(30)]
    assert np.mean(losses[-3:]) < 0.9 * np.mean(losses[:3]), losses


def test_style_every_n_steps_and_removal_mid_run(tiny_clip):
    session = Session(cfg(), tiny_clip)
    session.step()
    session.submit(SetStyle(StyleImage("s.png", stripes_png(), 40, every=3)))
    applied = ["style" in session.step().scores for _ in range(6)]  # steps 1..6
    assert applied == [False, False, True, False, False, True]
    session.submit(SetStyle(None))
    snap = session.step()
    assert "style" not in snap.scores and snap.guidance.style is None


@pytest.fixture
def vgg_checkpoint() -> bytes:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        features = st.vgg16_features()
    buf = io.BytesIO()
    torch.save({f"features.{k}": v.half() for k, v in features.state_dict().items()}, buf)
    return buf.getvalue()


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "torch-hub"))
    return tmp_path / "torch-hub"


def test_download_into_the_torch_hub_cache_then_offline(vgg_checkpoint, hub_dir):
    name = f"vgg16-{hashlib.sha256(vgg_checkpoint).hexdigest()[:8]}.pth"
    with FakeHub({("models/x", name): vgg_checkpoint}) as server:  # served at /models/x/NAME
        source = st.VggSource.from_url(f"{server.endpoint}/models/x/{name}")
        assert source.hash_prefix == name[6:14]
        net = st.load_style_network("imagenet", source=source)
        assert server.gets() == 1
        again = st.load_style_network("imagenet", source=source)
        assert server.gets() == 1, "a cached file is loaded without asking the server"
    cached = hub_dir / "checkpoints" / name
    assert st.vgg_cache_path(source) == cached and cached.read_bytes() == vgg_checkpoint
    expected = torch.load(io.BytesIO(vgg_checkpoint), weights_only=True)
    for key, value in net.features.state_dict().items():
        assert torch.equal(value, expected[f"features.{key}"].float())
    assert torch.equal(again.features[0].weight, net.features[0].weight)
    # And torchvision's own loader accepts the file (same place, same format) for the features.
    state = torch.load(cached, weights_only=True)
    assert set(state) == {f"features.{k}" for k in net.features.state_dict()}


def test_corrupt_download_is_refused_and_nothing_is_kept(vgg_checkpoint, hub_dir):
    name = "vgg16-0badbeef.pth"
    with FakeHub({("models/x", name): vgg_checkpoint}) as server:
        source = st.VggSource.from_url(f"{server.endpoint}/models/x/{name}")
        with pytest.raises(WeightsError, match="corrupt"):
            st.load_style_network("imagenet", source=source)
    assert not (hub_dir / "checkpoints").exists() or not list((hub_dir / "checkpoints").iterdir())


def test_missing_file_and_offline_are_one_line_errors(hub_dir):
    with FakeHub({}) as server:
        source = st.VggSource.from_url(f"{server.endpoint}/models/x/vgg16-12345678.pth")
        with pytest.raises(WeightsError, match="HTTP 404"):
            st.load_style_network("imagenet", source=source)
    offline = st.VggSource.from_url(f"{closed_port_endpoint()}/models/x/vgg16-12345678.pth")
    with pytest.raises(WeightsError, match="cannot be reached") as info:
        st.load_style_network("imagenet", source=offline)
    message = str(info.value)
    assert "\n" not in message and "--weights random" in message and str(hub_dir / "checkpoints") in message
    with pytest.raises(WeightsError, match="does not exist"):
        st.load_style_network(str(hub_dir / "nope.pth"))


def test_unusable_style_mid_run_keeps_the_run_going(tiny_clip):
    def broken():
        raise WeightsError("no VGG here")

    session = Session(cfg(weights="x"), tiny_clip, style_network=broken)
    session.step()
    session.submit(SetStyle(StyleImage("s.png", stripes_png(), 40)))
    snap = session.step()
    assert any("no VGG here" in m for m in snap.messages)
    assert snap.guidance.style is None and "style" not in snap.scores


def test_download_reports_progress_in_chunks(vgg_checkpoint, hub_dir, monkeypatch):
    monkeypatch.setattr(st, "DOWNLOAD_CHUNK", 64 * 1024)
    name = f"vgg16-{hashlib.sha256(vgg_checkpoint).hexdigest()[:8]}.pth"
    seen: list[tuple[int, int | None]] = []
    with FakeHub({("models/x", name): vgg_checkpoint}, chunk=64 * 1024) as server:
        source = st.VggSource.from_url(f"{server.endpoint}/models/x/{name}")
        path = st.download_vgg(source, progress=lambda d, t: seen.append((d, t)))
    size = len(vgg_checkpoint)
    assert path.read_bytes() == vgg_checkpoint
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert len(seen) >= size // (64 * 1024)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_cancel_stops_the_download_and_leaves_nothing(vgg_checkpoint, hub_dir, monkeypatch):
    import threading

    from clipdraw_core.clip.weights import DownloadCancelled

    monkeypatch.setattr(st, "DOWNLOAD_CHUNK", 16 * 1024)
    name = f"vgg16-{hashlib.sha256(vgg_checkpoint).hexdigest()[:8]}.pth"
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int | None) -> None:
        seen.append(done)
        if done >= 3 * 16 * 1024:
            cancel.set()

    with FakeHub({("models/x", name): vgg_checkpoint}, chunk=16 * 1024, delay=0.005) as server:
        source = st.VggSource.from_url(f"{server.endpoint}/models/x/{name}")
        with pytest.raises(DownloadCancelled):
            st.download_vgg(source, progress=progress, cancel=cancel)
    assert max(seen) < len(vgg_checkpoint)
    checkpoints = hub_dir / "checkpoints"
    assert not checkpoints.exists() or list(checkpoints.iterdir()) == []


def test_a_local_file_is_checked_and_installed(vgg_checkpoint, hub_dir, tmp_path):
    local = tmp_path / "my-vgg16.pth"
    local.write_bytes(vgg_checkpoint)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    source = st.VggSource.from_url("http://127.0.0.1:9/models/x/vgg16-12345678.pth")
    with pytest.raises(WeightsError, match="cannot load VGG-16 weights"):
        st.install_vgg_file(bad, source)
    assert not st.vgg_cache_path(source).exists()
    installed = st.install_vgg_file(local, source)
    assert installed == st.vgg_cache_path(source) and installed.read_bytes() == vgg_checkpoint
    assert [p.name for p in installed.parent.iterdir()] == [installed.name]
    net = st.load_style_network("imagenet", source=source)  # no server: found in the cache
    direct = st.load_style_network(str(local))
    assert torch.equal(net.features[0].weight, direct.features[0].weight)
