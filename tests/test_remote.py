"""clipdraw-server and its client on 127.0.0.1: same numbers as local, edits, security, faults.

The server runs in this process (``BackgroundServer``) with the tiny random model, so
a remote run and a local run use the same weights and the same torch threads; one
test starts the real ``clipdraw-server`` command to check its printed contract.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import subprocess
import sys
import time

import aiohttp
import numpy as np
import pytest
from PIL import Image

from clipdraw_core import cli
from clipdraw_core.drawing.commands import (
    AddStrokes,
    DeleteStrokes,
    SetFrozen,
    SetImagePrompts,
    SetPrompt,
    SetStyle,
)
from clipdraw_core.drawing.guidance import Guidance, ImagePrompt, Region, StyleImage
from clipdraw_core.drawing.strokes import Stroke
from clipdraw_core.errors import AuthError, RemoteError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from clipdraw_core.remote.client import RemoteClient, RemoteResult, probe_server, run_remote_job
from clipdraw_core.remote.protocol import (
    ProtocolError,
    decode_message,
    encode_message,
    parse_client_message,
    parse_server_address,
)
from clipdraw_core.remote.server import BackgroundServer, ServerOptions

TOKEN = "s3cret-token"
MAX_BYTES = 256 * 1024


def small_config(**kw) -> SessionConfig:
    base = {"prompt": "a red cat", "num_paths": 8, "num_steps": 3, "num_augs": 1, "seed": 5,
            "width": 64, "height": 64}
    base.update(kw)
    return SessionConfig(**base)


@pytest.fixture(scope="module")
def server(tiny_clip_files):
    config_path, checkpoint = tiny_clip_files
    options = ServerOptions(
        host="127.0.0.1", port=0, token=TOKEN, devices=("cpu",), max_sessions=6,
        model=str(config_path), weights=str(checkpoint), grace_s=30.0,
        max_message_bytes=MAX_BYTES, max_commands_per_second=50.0, style_weights="random",
    )
    with BackgroundServer(options) as running:
        running.server.preload()
        yield running


async def until(client: RemoteClient, predicate, timeout: float = 60.0):
    """Events until ``predicate(snapshot)``; returns that snapshot."""
    async def wait():
        async for event in client.events():
            if event.snapshot is not None and predicate(event.snapshot):
                return event.snapshot
    return await asyncio.wait_for(wait(), timeout)


def test_remote_run_gives_the_local_drawing(server, tiny_clip):
    config = small_config()
    local = Session(config, tiny_clip)
    for _ in local.run():
        pass
    expected = local.snapshot()
    result = RemoteResult()
    remote = asyncio.run(run_remote_job(server.address, TOKEN, config, (), result))
    assert remote.step == expected.step == 3
    assert remote.device == "cpu"
    assert [s.id for s in remote.drawing.strokes] == [s.id for s in expected.drawing.strokes]
    for a, b in zip(remote.drawing.strokes, expected.drawing.strokes, strict=True):
        np.testing.assert_array_equal(a.points, b.points)
        assert a.color == b.color and a.half_width == b.half_width
    assert remote.loss == pytest.approx(expected.loss, abs=0)


def test_edits_and_prompt_change_round_trip(server):
    async def scenario():
        client = RemoteClient(server.address, TOKEN)
        await client.connect()
        try:
            first = await client.start(small_config(num_steps=6), paused=True)
            assert first.step == 0 and client.state == "paused"
            frozen_before = first.drawing.stroke(0).points.copy()
            new = Stroke(100, np.array([[5, 5], [10, 5], [15, 10], [20, 20]], np.float32), 2.0, (0, 0, 1, 1))
            await client.submit(SetFrozen((0,)))
            await client.submit(DeleteStrokes((1,)))
            await client.submit(AddStrokes((new,)))
            await client.submit(SetPrompt("a blue dog"))
            edited = await until(client, lambda s: s.config.prompt == "a blue dog" and 100 in s.drawing.ids)
            assert edited.step == 0
            assert edited.drawing.stroke(0).frozen and 1 not in edited.drawing.ids
            np.testing.assert_array_equal(edited.drawing.stroke(100).points, new.points)
            await client.control("run")
            done = await until(client, lambda s: s.done)
            assert done.step == 6 and done.config.prompt == "a blue dog"
            np.testing.assert_array_equal(done.drawing.stroke(0).points, frozen_before)
            moved = done.drawing.stroke(2).points - edited.drawing.stroke(2).points
            assert np.abs(moved).max() > 0
            await client.control("stop")
        finally:
            await client.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("token", [None, "wrong"])
def test_wrong_or_missing_token_is_refused(server, token):
    with pytest.raises(AuthError, match="refused the token"):
        asyncio.run(RemoteClient(server.address, token).connect())


def test_probe_reports_device_model_and_round_trip(server, tiny_clip_files):
    info = asyncio.run(probe_server(server.address, TOKEN))
    assert info["devices"] == ["cpu"]
    assert info["model"] == str(tiny_clip_files[0])
    assert 0 < info["rtt_s"] < 5


def test_a_model_the_server_does_not_serve_is_refused(server):
    async def scenario():
        client = RemoteClient(server.address, TOKEN)
        await client.connect()
        try:
            await client.start(small_config(), model="/etc/passwd.json", weights="/etc/shadow")
        finally:
            await client.close()

    with pytest.raises(RemoteError, match="does not serve model"):
        asyncio.run(scenario())


async def _raw(server, text: str):
    """Send one raw frame on a fresh connection; return (close code, reason)."""
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(
            f"ws://{server.address}/ws", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as ws:
            welcome = await ws.receive()
            assert decode_message(welcome.data)["type"] == "welcome"
            await ws.send_str(text)
            while True:
                msg = await asyncio.wait_for(ws.receive(), 30)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return ws.close_code, msg.extra or ""


def test_bad_clients_do_not_harm_another_session(server):
    async def scenario():
        good = RemoteClient(server.address, TOKEN)
        await good.connect()
        await good.start(small_config(num_steps=100_000))
        try:
            before = await until(good, lambda s: s.step >= 1)
            code, reason = await _raw(server, "{not json")
            assert code == 1008 and "not JSON" in reason
            code, reason = await _raw(server, encode_message({"type": "command", "seq": 1, "command": {}}))
            assert code == 1008 and "unknown command" in reason
            code, _ = await _raw(server, "x" * (MAX_BYTES + 1))
            assert code == 1009
            bad_picture = {"type": "SetImagePrompts", "images": [{"name": "x", "png_base64": "R0lGODlh"}]}
            code, reason = await _raw(server, encode_message({"type": "command", "seq": 1,
                                                              "command": bad_picture}))
            assert code == 1008 and "must be a PNG" in reason
            huge_side = {"type": "SetStyle", "style": {"png_base64": png_b64(2000, 2)}}
            code, reason = await _raw(server, encode_message({"type": "command", "seq": 1,
                                                              "command": huge_side}))
            assert code == 1008 and "at most 512 px" in reason
            # A flood of 1000 commands: bounded by the rate limit, then the connection is closed.
            flood = RemoteClient(server.address, TOKEN)
            await flood.connect()
            await flood.start(small_config(num_steps=100_000), paused=True)
            flood_id = flood.session_id
            for _ in range(1000):
                await flood.submit(SetFrozen((0,)))
            with pytest.raises(RemoteError, match="too many commands"):
                await until(flood, lambda s: False, timeout=30)
            await flood.close()
            assert flood_id not in server.server.sessions
            after = await until(good, lambda s: s.step > before.step + 1)
            assert good.session_id in server.server.sessions
            assert after.step > before.step
            await good.control("stop")
        finally:
            await good.close()

    asyncio.run(scenario())


def test_drop_and_reconnect_keeps_the_session_and_the_edits(server):
    async def scenario():
        client = RemoteClient(server.address, TOKEN, reconnect_s=20)
        await client.connect()
        await client.start(small_config(num_steps=100_000))
        sid = client.session_id
        try:
            await until(client, lambda s: s.step >= 1)
            await client.submit(SetFrozen((3,)))
            await client.drop()
            await client.submit(DeleteStrokes((4,)))  # sent while the connection is down
            kinds = []
            async for event in client.events():
                kinds.append(event.kind)
                if event.kind == "reconnected":
                    break
            assert kinds[:1] == ["disconnected"]
            assert client.session_id == sid and sid in server.server.sessions
            snap = await until(client, lambda s: 4 not in s.drawing.ids)
            assert snap.drawing.stroke(3).frozen
            assert len(server.server.sessions[sid].session.drawing().strokes) == 7
            await client.control("stop")
        finally:
            await client.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ({"type": "launch"}, "unknown message type"),
        ({"type": "start", "config": "x"}, "config object"),
        ({"type": "start", "config": {"prompt": "cat", "num_steps": -1}}, "invalid settings"),
        ({"type": "start", "config": {"prompt": "x" * 5000}}, "characters"),
        ({"type": "start", "config": {"prompt": "cat", "num_paths": 4000},
          "strokes": [{"id": i, "points": np.zeros((4, 2), np.float32)} for i in range(1001)]}, "at most"),
        ({"type": "command", "seq": "1", "command": {}}, "seq"),
        ({"type": "command", "seq": 1, "command": {"type": "SetFrozen", "ids": ["a"]}}, "stroke id"),
        ({"type": "command", "seq": 1, "command": {"type": "SetPrompt", "prompt": 3}}, "prompt"),
        ({"type": "command", "seq": 1, "command": {"type": "SetPrompt", "prompt": ""}}, "empty"),
        ({"type": "command", "seq": 1, "command": {"type": "AddFreehand", "stroke_id": 1,
                                                  "polyline": [[0, 0]]}}, "float array"),
        ({"type": "command", "seq": 1, "command": {"type": "Exec", "code": "rm"}}, "unknown command"),
        ({"type": "control", "action": "format"}, "control action"),
        ({"type": "command", "seq": 1, "command": {"type": "SetStyle", "style": {"png_base64": "AAAA"}}},
         "must be a PNG"),
        ({"type": "command", "seq": 1, "command": {"type": "SetImagePrompts", "images": "cat.png"}},
         "images must be a list"),
        ({"type": "command", "seq": 1, "command": {"type": "SetImagePrompts", "images": [
            {"name": "x", "png_base64": "A" * (3 * 1024 * 1024)}]}}, "at most 2097152 bytes"),
        ({"type": "command", "seq": 1, "command": {"type": "SetImagePrompts", "images": [
            {"name": "wide", "png_base64": "@WIDE@"}]}}, "600x8 px; at most 512"),
        ({"type": "command", "seq": 1, "command": {"type": "SetImagePrompts", "images": [
            {"name": "x", "png_base64": "@PNG@"}] * 17}}, "at most 16"),
        ({"type": "command", "seq": 1, "command": {"type": "SetImagePrompts", "images": [
            {"name": "x", "path": "/etc/passwd", "png_base64": "@PNG@"}]}}, "no field path"),
        ({"type": "command", "seq": 1, "command": {"type": "SetStyle", "style": {
            "png_base64": "@PNG@", "strength": 500}}}, "style strength"),
        ({"type": "command", "seq": 1, "command": {"type": "SetRegions", "regions": [
            {"id": 1, "prompt": "sky", "polygon": [[0, 0], [5, 5]]}]}}, "3 to"),
        ({"type": "command", "seq": 1, "command": {"type": "SetRegions", "regions": [
            {"id": 1, "prompt": "s" * 5000, "polygon": [[0, 0], [9, 0], [9, 9]]}]}}, "characters"),
        ({"type": "command", "seq": 1, "command": {"type": "SetRegions", "regions": [
            {"id": 1, "prompt": "sky", "polygon": [[0, 0], [9, "x"], [9, 9]]}]}}, "coordinate"),
        ({"type": "command", "seq": 1, "command": {"type": "SetRegions", "regions": [],
                                                  "region_views": 1000}}, "region_views"),
        ({"type": "start", "config": {"prompt": "cat"}, "guidance": {"style": {"png_base64": "@PNG@",
                                                                           "every": 0}}}, "style every"),
        ({"type": "start", "config": {"prompt": "cat"}, "guidance": {"images": [], "file": "x"}},
         "no field file"),
        ({"type": "command", "seq": 1, "command": {"type": "SetRespect", "ids": [1], "strength": 2}},
         "0 to 1"),
        ({"type": "command", "seq": 1, "command": {"type": "SetPrompt", "prompt": "a",
                                                  "prompt_weight": "x"}}, "prompt_weight"),
    ],
)
def test_malformed_messages_are_refused_before_the_engine(message, fragment):
    text = encode_message(message).replace("@PNG@", png_b64(16, 16)).replace("@WIDE@", png_b64(600, 8))
    with pytest.raises(ProtocolError, match=fragment):
        parse_client_message(decode_message(text))


def png_bytes(width: int, height: int, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def png_b64(width: int, height: int) -> str:
    return base64.b64encode(png_bytes(width, height)).decode("ascii")


def stripes_png(size: int = 48) -> bytes:
    img = np.zeros((size, size, 3), np.uint8)
    img[:, ::6] = (240, 200, 20)
    img[::5, :] = (20, 40, 200)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def guidance_for_test() -> Guidance:
    return Guidance(
        images=(ImagePrompt("noise.png", png_bytes(40, 32, seed=3), 0.7),),
        regions=(Region.rect(1, 8, 8, 40, 30, "a blue sky", 0.8, name="sky"),),
    )


def test_remote_run_with_image_prompt_region_and_style_gives_the_local_drawing(server, tiny_clip):
    """Guidance travels as data: the same drawing as a local run (random VGG-16).

    Not bit for bit, unlike the plain run: the server's VGG-16 is a second network in
    another thread, and oneDNN's CPU convolutions do not promise the same summation
    order from one call to the next, and Adam divides each update by the gradient's own
    size, so a 1e-7 difference in a feature became 2e-4 px after four steps in one run.
    Measured on this scene: leaving out the style moves points by 5 px, leaving out the
    second image prompt by 0.4 px, so 0.01 px still catches a lost or misread picture.
    """
    from clipdraw_core.cli_guidance import constant
    from clipdraw_core.optim.style import load_style_network

    config = small_config(num_steps=4)
    guidance = guidance_for_test()
    style = SetStyle(StyleImage("stripes.png", stripes_png(), strength=60, every=1))
    more = SetImagePrompts((*guidance.images, ImagePrompt("more.png", png_bytes(24, 24, seed=9), -0.3)))
    local = Session(config, tiny_clip, guidance=guidance,
                    style_network=constant(load_style_network("random")))
    local.submit(style)
    local.submit(more)
    local.apply_pending()
    for _ in local.run():
        pass
    expected = local.snapshot()
    assert "style" in expected.scores and "image: more.png" in expected.scores

    async def scenario():
        client = RemoteClient(server.address, TOKEN)
        await client.connect()
        try:
            first = await client.start(config, paused=True, guidance=guidance)
            assert first.guidance == guidance
            await client.submit(style)
            await client.submit(more)
            await until(client, lambda s: s.guidance.style is not None and len(s.guidance.images) == 2)
            await client.control("run")
            done = await until(client, lambda s: s.done)
            await client.control("stop")
            return done
        finally:
            await client.close()

    remote = asyncio.run(scenario())
    assert remote.step == expected.step == 4
    for a, b in zip(remote.drawing.strokes, expected.drawing.strokes, strict=True):
        np.testing.assert_allclose(a.points, b.points, atol=1e-2, rtol=0)
        np.testing.assert_allclose(a.color, b.color, atol=1e-3, rtol=0)
        assert a.half_width == pytest.approx(b.half_width, abs=1e-3)
    assert remote.loss == pytest.approx(expected.loss, rel=1e-3)
    assert remote.scores == pytest.approx(dict(expected.scores), rel=1e-3, abs=1e-5)
    # the guidance comes back (sent once, then "the same" on later snapshots)
    assert [i.name for i in remote.guidance.images] == ["noise.png", "more.png"]
    assert remote.guidance.style is not None and remote.guidance.style.name == "stripes.png"
    assert remote.guidance.regions == guidance.regions


def test_pictures_are_sent_once_not_with_every_snapshot(server):
    big = ImagePrompt("noise.png", png_bytes(128, 128, seed=1))  # ~49 kB of PNG
    assert len(big.png) > 40_000

    async def scenario():
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(
                f"ws://{server.address}/ws", headers={"Authorization": f"Bearer {TOKEN}"},
                max_msg_size=0,
            ) as ws:
                await ws.receive()  # welcome
                await ws.send_str(encode_message({
                    "type": "start", "config": small_config(num_steps=100_000).to_dict(),
                    "guidance": Guidance(images=(big,)).to_dict(),
                }))
                sizes = {}
                while len(sizes.get("snapshot", [])) < 3:
                    msg = await asyncio.wait_for(ws.receive(), 60)
                    data = decode_message(msg.data)
                    sizes.setdefault(data["type"], []).append((len(msg.data), data.get("guidance_same")))
                await ws.send_str(encode_message({"type": "control", "action": "stop"}))
                return sizes

    sizes = asyncio.run(scenario())
    (started, _), = sizes["started"]
    assert started > len(big.png)  # the first one carries the picture
    assert all(same and size < 20_000 for size, same in sizes["snapshot"]), sizes



def test_arrays_cross_the_wire_bit_for_bit_and_hostile_ones_are_refused():
    points = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    back = decode_message(encode_message({"type": "x", "a": points}))["a"]
    assert back.dtype == np.float32 and np.array_equal(back, points)
    with pytest.raises(ProtocolError, match="not accepted"):
        decode_message('{"type":"x","a":{"__nd__":"object","shape":[1],"b64":"AA=="}}')
    with pytest.raises(ProtocolError, match="shape"):
        decode_message('{"type":"x","a":{"__nd__":"float32","shape":[1000000],"b64":"AAAAAA=="}}')


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("gpu.local:8765", "ws://gpu.local:8765/ws"),
        ("ws://10.0.0.2:9000", "ws://10.0.0.2:9000/ws"),
        ("https://draw.example.com", "wss://draw.example.com/ws"),
        ("http://127.0.0.1:80/clip/ws", "ws://127.0.0.1:80/clip/ws"),
        ("wss://h:443", "wss://h:443/ws"),
    ],
)
def test_server_addresses(address, url):
    assert parse_server_address(address) == url


def test_cli_runs_remotely_and_a_wrong_token_is_one_line(server, tmp_path, capsys, tiny_clip_files):
    out = tmp_path / "remote.svg"
    base = ["a red cat", "-o", str(out), "--paths", "8", "--steps", "2", "--augs", "1", "--size", "64",
            "--quiet", "--server", f"ws://{server.address}"]
    assert cli.main([*base, "--token", "wrong"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "refused the token" in err and "Traceback" not in err
    assert not out.exists()
    assert cli.main([*base, "--token", TOKEN, "--project", str(tmp_path / "p.json")]) == 0
    assert out.read_text().count("<path") == 8
    assert (tmp_path / "p.json").exists()
    assert cli.main([*base, "--token", TOKEN, "--model", "ViT-Nonexistent", "--weights", "x"]) == 1
    assert "does not serve model" in capsys.readouterr().err


def test_server_command_prints_its_address_and_needs_a_token_off_loopback(tmp_path, tiny_clip_files):
    config_path, checkpoint = tiny_clip_files
    base = [sys.executable, "-m", "clipdraw_core.remote.server", "--model", str(config_path),
            "--weights", str(checkpoint), "--device", "cpu"]
    refused = subprocess.run([*base, "--host", "0.0.0.0"], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "token is required" in refused.stderr
    proc = subprocess.Popen([*base, "--host", "127.0.0.1", "--port", "0", "--token", TOKEN],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert match, line
        out = tmp_path / "sub.svg"
        args = ["cat", "-o", str(out), "--paths", "4", "--steps", "1", "--augs", "1", "--size", "64",
                "--quiet", "--server", f"127.0.0.1:{match.group(1)}", "--token", TOKEN]
        assert cli.main(args) == 0 and out.exists()
    finally:
        proc.terminate()
        proc.wait(30)
    assert "connected" in proc.stderr.read()


def test_when_the_server_dies_the_drawing_so_far_is_kept(tiny_clip_files):
    config_path, checkpoint = tiny_clip_files
    options = ServerOptions(host="127.0.0.1", port=0, token=TOKEN, devices=("cpu",),
                            model=str(config_path), weights=str(checkpoint))
    result = RemoteResult()
    server = BackgroundServer(options).__enter__()

    async def scenario():
        job = asyncio.create_task(
            run_remote_job(
                server.address, TOKEN, small_config(num_steps=100_000), (), result, reconnect_s=1.0
            )
        )
        deadline = time.monotonic() + 60
        while (result.last is None or result.last.step < 2) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.get_running_loop().run_in_executor(None, server.__exit__, None, None, None)
        with pytest.raises(RemoteError, match=r"could not reconnect|cannot reach"):
            await job

    asyncio.run(scenario())
    assert result.last is not None and result.last.step >= 2
    assert len(result.last.drawing.strokes) == 8


def test_proxy_steers_like_a_local_session_and_pauses_when_not_asked(server):
    from clipdraw_core.remote.proxy import RemoteSessionProxy

    proxy = RemoteSessionProxy(server.address, TOKEN, small_config(num_steps=100_000), lease_s=0.3)
    try:
        assert proxy.step_count == 0 and proxy.num_strokes == 8 and not proxy.done
        steps = [proxy.step().step for _ in range(3)]
        assert steps == sorted(steps) and steps[0] >= 1
        new_id = proxy.allocate_ids(1)[0]
        assert new_id >= 8
        proxy.submit(SetFrozen((0,)))
        proxy.submit(DeleteStrokes((5,)))
        proxy.submit(AddStrokes((Stroke(new_id, np.zeros((4, 2), np.float32) + 9, 1.0, (1, 0, 0, 1)),)))
        snap = proxy.apply_pending()
        assert snap.drawing.stroke(0).frozen and 5 not in snap.drawing.ids and new_id in snap.drawing.ids
        # Nobody asks for steps: the lease runs out and the server stops stepping.
        time.sleep(0.8)
        paused_at = server.server.sessions[proxy.session_id].session.step_count
        time.sleep(0.6)
        assert server.server.sessions[proxy.session_id].session.step_count == paused_at
        assert proxy.step().step > snap.step
    finally:
        sid = proxy.session_id
        proxy.close()
    deadline = time.monotonic() + 10
    while sid in server.server.sessions and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sid not in server.server.sessions


def test_cli_sends_image_prompts_regions_and_style_to_the_server(server, tmp_path, tiny_clip_files):
    """--image-prompt, --region and --style-image with --server: the local CLI's drawing."""
    config_path, checkpoint = tiny_clip_files
    (tmp_path / "noise.png").write_bytes(png_bytes(40, 32, seed=3))
    (tmp_path / "stripes.png").write_bytes(stripes_png())
    job = ["a red cat", "--paths", "6", "--steps", "3", "--augs", "1", "--size", "64", "--quiet",
           "--image-prompt", f"{tmp_path / 'noise.png'}:0.7", "--region", "8,8,40,30", "a blue sky:0.8",
           "--style-image", str(tmp_path / "stripes.png"), "--style-strength", "60"]
    local_args = ["--model", str(config_path), "--weights", str(checkpoint), "--device", "cpu",
                  "--style-weights", "random"]
    assert cli.main([*job, "-o", str(tmp_path / "local.svg"), *local_args]) == 0
    remote = [*job, "-o", str(tmp_path / "remote.svg"), "--project", str(tmp_path / "r.json"),
              "--server", server.address, "--token", TOKEN]
    assert cli.main([*remote, "--style-weights", "random"]) == 1  # the server's choice, said in one line
    assert cli.main(remote) == 0

    def paths(name: str) -> list[str]:
        return re.findall(r"<path[^>]*>", (tmp_path / name).read_text())

    assert paths("remote.svg") == paths("local.svg") and len(paths("local.svg")) == 6
    text = (tmp_path / "remote.svg").read_text()
    assert "noise.png" in text and "stripes.png" in text and "a blue sky" in text
    from clipdraw_core.io.project import load_project

    project = load_project(tmp_path / "r.json")
    assert project.guidance.style is not None and project.guidance.style.name == "stripes.png"
    assert [i.name for i in project.guidance.images] == ["noise.png"]


def test_cli_stages_prune_auto_stop_and_time_lapse_run_on_the_server_as_locally(server, tmp_path):
    """The server runs the settings' plan around the session; the frames come down at the end."""
    config_path = server.server.options.model
    checkpoint = server.server.options.weights
    job = ["a red cat", "--paths", "8", "--steps", "12", "--augs", "1", "--size", "64", "--quiet",
           "--stages", "2", "--prune", "0.05", "--prune-every", "5", "--timelapse-every", "2",
           "--caption"]

    def outputs(name: str) -> list[str]:
        return ["-o", str(tmp_path / f"{name}.svg"), "--timelapse", str(tmp_path / f"{name}.gif"),
                "--replay", str(tmp_path / f"{name}-replay.gif"), "--project", str(tmp_path / f"{name}.json")]

    local_args = ["--model", config_path, "--weights", checkpoint, "--device", "cpu"]
    assert cli.main([*job, *outputs("local"), *local_args]) == 0
    assert cli.main([*job, *outputs("remote"), "--server", server.address, "--token", TOKEN]) == 0

    def paths(name: str) -> list[str]:
        return re.findall(r"<path[^>]*>", (tmp_path / f"{name}.svg").read_text())

    assert paths("remote") == paths("local") and paths("local")
    frames = {}
    for name in ("local", "remote"):
        with Image.open(tmp_path / f"{name}.gif") as gif:
            frames[name] = gif.n_frames
        assert (tmp_path / f"{name}-replay.gif").stat().st_size > 0
    assert frames["remote"] == frames["local"] >= 6
    assert (tmp_path / "remote.gif").read_bytes() == (tmp_path / "local.gif").read_bytes()
    assert cli.main([*job, "-o", str(tmp_path / "v.svg"), "--variations", "2",
                     "--server", server.address, "--token", TOKEN]) == 1


def test_auto_stop_ends_a_remote_cli_run_early_as_locally(server, tmp_path, capsys):
    config_path = server.server.options.model
    checkpoint = server.server.options.weights
    job = ["a red cat", "--paths", "4", "--steps", "400", "--augs", "1", "--size", "64",
           "--auto-stop", "--patience", "5", "--project"]
    local_args = ["--model", config_path, "--weights", checkpoint, "--device", "cpu", "--quiet"]
    assert cli.main([*job, str(tmp_path / "l.json"), "-o", str(tmp_path / "l.svg"), *local_args]) == 0
    assert cli.main([*job, str(tmp_path / "r.json"), "-o", str(tmp_path / "r.svg"),
                     "--server", server.address, "--token", TOKEN]) == 0
    assert "auto-stop at step" in capsys.readouterr().err
    from clipdraw_core.io.project import load_project

    local, remote = load_project(tmp_path / "l.json"), load_project(tmp_path / "r.json")
    assert remote.step == local.step < 400


def test_a_session_the_server_no_longer_has_is_given_up_at_once(server):
    """After a restart (or the grace period) the server answers but cannot resume: final, no 30 s wait."""
    async def scenario():
        client = RemoteClient(server.address, TOKEN, reconnect_s=30)
        await client.connect()
        await client.start(small_config(num_steps=100_000))
        try:
            await until(client, lambda s: s.step >= 1)
            hosted = server.server.sessions[client.session_id]
            server.loop.call_soon_threadsafe(server.server._end, hosted)
            server.drop_connections()
            t0 = time.monotonic()
            with pytest.raises(RemoteError, match="session has ended"):
                await until(client, lambda s: False, timeout=30)
            return time.monotonic() - t0
        finally:
            await client.close()

    assert asyncio.run(scenario()) < 10
