"""Every edit command the window sends reaches a clipdraw-server's engine, checked first.

Look changes (``SetLook``), moves (``TransformStrokes``), recolours (``SetStrokeStyle``) and
z-order (``Reorder``) used to be refused as "unknown command type", which closed the
connection of any window that used them on a server. Here: each one mid-run gives the
local drawing bit for bit; malformed ones close only their own connection with the
reason; and every command class is either checked by the server or listed as client-only,
so a new command cannot be forgotten again. The server runs in this process on 127.0.0.1
with the tiny random model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import typing

import aiohttp
import numpy as np
import pytest

from clipdraw_core.drawing import commands as commands_module
from clipdraw_core.drawing.commands import (
    COMMAND_TYPES,
    AddFreehand,
    AddStrokes,
    Command,
    DeleteStrokes,
    Reorder,
    SetFrozen,
    SetImagePrompts,
    SetLook,
    SetPrompt,
    SetRegions,
    SetRespect,
    SetStrokeCount,
    SetStrokeStyle,
    SetStyle,
    TransformStrokes,
    UpdateStrokes,
    rotation_about,
)
from clipdraw_core.drawing.guidance import ImagePrompt, Region, StyleImage
from clipdraw_core.drawing.palette import hex_to_rgb
from clipdraw_core.drawing.strokes import MAX_STROKES, Anchor, Stroke
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from clipdraw_core.remote.client import RemoteClient
from clipdraw_core.remote.protocol import (
    CLIENT_ONLY_COMMANDS,
    SERVER_COMMANDS,
    ProtocolError,
    check_command,
    decode_message,
    encode_message,
    parse_client_message,
)
from clipdraw_core.remote.server import BackgroundServer, ServerOptions
from tests.test_remote import png_bytes

TOKEN = "commands-token"


def small_config(**kw) -> SessionConfig:
    base = {"prompt": "a red cat", "num_paths": 8, "num_steps": 40, "num_augs": 1, "seed": 11,
            "width": 64, "height": 64}
    base.update(kw)
    return SessionConfig(**base)


@pytest.fixture(scope="module")
def server(tiny_clip_files):
    config_path, checkpoint = tiny_clip_files
    options = ServerOptions(
        host="127.0.0.1", port=0, token=TOKEN, devices=("cpu",), max_sessions=6,
        model=str(config_path), weights=str(checkpoint), grace_s=30.0, style_weights="random",
    )
    with BackgroundServer(options) as running:
        running.server.preload()
        yield running


# ---------------------------------------------------------------- no command is forgotten
def _line(i: int) -> Stroke:
    return Stroke(i, np.array([[5, 5], [10, 5], [15, 10], [20, 20]], np.float32), 2.0, (0, 0, 1, 1))


#: One instance of every command class (a new class without one fails the test below).
SAMPLES: dict[type, Command] = {
    SetFrozen: SetFrozen((1, 2), False),
    DeleteStrokes: DeleteStrokes((3,)),
    AddStrokes: AddStrokes((_line(40),), (0,)),
    AddFreehand: AddFreehand(41, np.array([[1.0, 1.0], [9.0, 4.0], [20.0, 9.0]]), 1.5, (1, 0, 0, 1)),
    UpdateStrokes: UpdateStrokes((_line(2),)),
    SetPrompt: SetPrompt("a blue dog", ("a mess",), None, ("a hat",), 0.8, (0.4,)),
    SetStrokeCount: SetStrokeCount(12),
    SetImagePrompts: SetImagePrompts((ImagePrompt("noise.png", png_bytes(20, 16), 0.5),)),
    SetStyle: SetStyle(StyleImage("s.png", png_bytes(16, 16, seed=2), strength=40, every=2)),
    SetRegions: SetRegions((Region.rect(1, 4, 4, 30, 30, "a sky", 0.7, name="sky"),), 2),
    SetRespect: SetRespect((1,), 0.5, (Anchor(_line(1).points, 2.0, (0, 0, 1, 1)),)),
    SetLook: SetLook.of(palette=("#1d2b53", "#ff004d"), palette_mode="soft", palette_strength=2.5,
                        palette_opaque=True, ink="#102030", min_half_width=0.5, max_half_width=3.0,
                        background=(1.0, 0.9, 0.8), transparent=True),
    TransformStrokes: TransformStrokes((1, 2), rotation_about(0.4, 32, 32), scale_widths=False),
    SetStrokeStyle: SetStrokeStyle((0, 2), color=(0.9, 0.1, 0.2), opacity=0.6, half_width=3.0,
                                   fill=(0.1, 0.2, 0.3, 0.5)),
    Reorder: Reorder((5, 1, 3), "exact"),
}


def _command_classes_in_module() -> set[type]:
    return {
        cls for _, cls in inspect.getmembers(commands_module, inspect.isclass)
        if cls.__module__ == commands_module.__name__ and dataclasses.is_dataclass(cls)
        and issubclass(cls, commands_module._Plain)
    }


def test_every_command_class_is_checked_by_the_server_or_listed_as_client_only():
    classes = _command_classes_in_module()
    assert classes == set(COMMAND_TYPES) == set(typing.get_args(Command))
    assert set(SAMPLES) == classes, "give the new command a sample here"
    names = {cls.__name__ for cls in classes}
    assert SERVER_COMMANDS | CLIENT_ONLY_COMMANDS == names
    assert not SERVER_COMMANDS & CLIENT_ONLY_COMMANDS
    for cls, sample in SAMPLES.items():
        wire = decode_message(encode_message({"type": "command", "seq": 1, "command": sample.to_plain()}))
        if cls.__name__ in CLIENT_ONLY_COMMANDS:
            with pytest.raises(ProtocolError, match="unknown command type"):
                parse_client_message(wire)
            continue
        back = parse_client_message(wire).command
        assert type(back) is cls
        assert encode_message(back.to_plain()) == encode_message(sample.to_plain()), cls.__name__


# ---------------------------------------------------------------- the same drawing as locally
MID_RUN = {
    "ink": SetLook.of(ink="#203040", max_half_width=2.0),
    "palette": SetLook.of(palette=("#1d2b53", "#ff004d", "#ffec27"), background=(1.0, 0.95, 0.9)),
    "transform": TransformStrokes((1, 3), rotation_about(0.4, 32, 32)),
    "style": SetStrokeStyle((0, 2), color=(0.9, 0.1, 0.2), opacity=0.6, half_width=3.0),
    "reorder": Reorder((2, 6), "top"),
}


def _same(a, b) -> None:
    assert a.step == b.step
    assert [s.id for s in a.drawing.strokes] == [s.id for s in b.drawing.strokes]
    for x, y in zip(a.drawing.strokes, b.drawing.strokes, strict=True):
        np.testing.assert_array_equal(x.points, y.points)
        assert x.color == y.color and x.half_width == y.half_width
    assert a.drawing.background == b.drawing.background
    assert a.loss == pytest.approx(b.loss, abs=0)


async def _events_until(client: RemoteClient, predicate, timeout: float = 60.0):
    async def wait():
        async for event in client.events():
            if event.snapshot is not None and predicate(event):
                return event.snapshot
    return await asyncio.wait_for(wait(), timeout)


@pytest.mark.parametrize("name", list(MID_RUN))
def test_a_command_mid_run_on_the_server_gives_the_local_drawing(server, tiny_clip, name):
    command = MID_RUN[name]
    config = small_config()

    async def remote_run():
        client = RemoteClient(server.address, TOKEN)
        await client.connect()
        try:
            await client.start(config, paused=True)
            await client.control("run")
            await _events_until(client, lambda e: e.snapshot.step >= 2)
            await client.control("pause")
            paused = await _events_until(client, lambda e: e.state == "paused")
            seq = await client.submit(command)
            edited = await _events_until(client, lambda e: e.seq >= seq)
            await client.control("run")
            done = await _events_until(client, lambda e: e.snapshot.done)
            await client.control("stop")
            return paused, edited, done
        finally:
            await client.close()

    paused, edited, done = asyncio.run(remote_run())
    k = paused.step
    assert 2 <= k < config.num_steps and edited.step == k  # the command landed mid-run

    local = Session(config, tiny_clip)
    for _ in range(k):
        local.step()
    _same(local.snapshot(), paused)
    local.submit(command)
    local_edited = local.apply_pending()
    for _ in local.run():
        pass
    _same(edited, local_edited)
    _same(done, local.snapshot())
    assert done.step == config.num_steps
    # ...and the command did something
    before, after = paused.drawing, edited.drawing
    if name == "ink":
        assert edited.config.ink == "#203040" and edited.config.max_half_width == 2.0
        colours = np.array([s.color for s in done.drawing.strokes])
        np.testing.assert_allclose(colours, [(*hex_to_rgb("#203040"), 1.0)] * len(colours), atol=1e-6)
        assert max(s.half_width for s in done.drawing.strokes) <= 2.0
    elif name == "palette":
        assert done.config.palette == ("#1d2b53", "#ff004d", "#ffec27")
        assert done.drawing.background == pytest.approx((1.0, 0.95, 0.9), abs=1e-7)
        allowed = np.array([hex_to_rgb(h) for h in done.config.palette])
        for s in done.drawing.strokes:  # every colour is one of the entries
            assert np.abs(allowed - np.array(s.color[:3])).max(axis=1).min() < 1e-6
    elif name == "transform":
        assert not np.allclose(after.stroke(1).points, before.stroke(1).points)
        np.testing.assert_array_equal(after.stroke(0).points, before.stroke(0).points)
    elif name == "style":
        assert after.stroke(0).color == pytest.approx((0.9, 0.1, 0.2, 0.6))
        assert after.stroke(0).half_width == 3.0
    else:
        assert after.ids[-2:] == [2, 6] and before.ids[-2:] != [2, 6]


# ---------------------------------------------------------------- malformed ones
def _cmd(command: dict) -> str:
    return encode_message({"type": "command", "seq": 1, "command": command})


IDS_TOO_MANY = list(range(MAX_STROKES + 1))
MALFORMED = [
    # SetLook
    (_cmd({"type": "SetLook", "changes": {"ink": "#12345g"}}), "not a colour"),
    (_cmd({"type": "SetLook", "changes": {"ink": 7}}), "must be text"),
    (_cmd({"type": "SetLook", "changes": {"palette": ["#000000", "red"]}}), "not a colour"),
    (_cmd({"type": "SetLook", "changes": {"palette": ["#000000"]}}), "2 to 32 different colours"),
    (_cmd({"type": "SetLook", "changes": {"palette": ["#000000", "#ffffff"] * 2000}}), "at most 256"),
    (_cmd({"type": "SetLook", "changes": {"palette": "#000000,#ffffff"}}), "must be a list"),
    (_cmd({"type": "SetLook", "changes": {"ink": "#" + "0" * 5000}}), "at most 32 characters"),
    (_cmd({"type": "SetLook", "changes": {"num_paths": 4000}}), "cannot change num_paths"),
    (_cmd({"type": "SetLook", "changes": {}}), "needs changes"),
    (_cmd({"type": "SetLook", "changes": [["ink", "#000000"]]}), "needs changes"),
    (_cmd({"type": "SetLook", "changes": {"ink": None}, "path": "/etc"}), "no field path"),
    (_cmd({"type": "SetLook", "changes": {"palette_mode": "glitter"}}), "unknown palette mode"),
    (_cmd({"type": "SetLook", "changes": {"palette_strength": 1e9}}), "between 0 and 100"),
    (_cmd({"type": "SetLook", "changes": {"max_half_width": 1e300}}), "between 0 and 10000"),
    (_cmd({"type": "SetLook", "changes": {"min_half_width": 5, "max_half_width": 2}}), "exceeds"),
    (_cmd({"type": "SetLook", "changes": {"background": [1, 1]}}), "3 values"),
    (_cmd({"type": "SetLook", "changes": {"background": [1, 1, 7]}}), "between 0 and 1"),
    (_cmd({"type": "SetLook", "changes": {"transparent": "yes"}}), "true or false"),
    ('{"type":"command","seq":1,"command":{"type":"SetLook","changes":{"min_half_width":NaN}}}',
     "finite number"),
    # TransformStrokes
    (_cmd({"type": "TransformStrokes", "ids": [1], "matrix": [1, 0, 0, 0, 1]}), "six numbers"),
    (_cmd({"type": "TransformStrokes", "ids": [1], "matrix": [[1, 0, 0], [0, 1, 0]]}), "six numbers"),
    (_cmd({"type": "TransformStrokes", "ids": [1], "matrix": [[1], 0, 0, 0, 1, 0]}), "scale or rotation"),
    (_cmd({"type": "TransformStrokes", "ids": [1], "matrix": np.eye(2, 3).ravel()}), "six numbers"),
    (_cmd({"type": "TransformStrokes", "ids": [1], "matrix": [1, 0, "x", 0, 1, 0]}), "translation"),
    (_cmd({"type": "TransformStrokes", "ids": [1], "matrix": [1e6, 0, 0, 0, 1, 0]}), "between -1000"),
    (_cmd({"type": "TransformStrokes", "ids": [1], "matrix": [1, 0, 1e12, 0, 1, 0]}), "translation"),
    ('{"type":"command","seq":1,"command":{"type":"TransformStrokes","ids":[1],'
     '"matrix":[NaN,0,0,0,1,0]}}', "scale or rotation"),
    ('{"type":"command","seq":1,"command":{"type":"TransformStrokes","ids":[1],'
     '"matrix":[1,0,Infinity,0,1,0]}}', "translation"),
    (_cmd({"type": "TransformStrokes", "ids": IDS_TOO_MANY, "matrix": [1, 0, 0, 0, 1, 0]}), "at most"),
    (_cmd({"type": "TransformStrokes", "ids": [1], "matrix": [1, 0, 0, 0, 1, 0], "scale_widths": 1}),
     "scale_widths"),
    # SetStrokeStyle
    (_cmd({"type": "SetStrokeStyle", "ids": [1], "color": [1, 0]}), "3 \\(RGB\\) or 4"),
    (_cmd({"type": "SetStrokeStyle", "ids": [1], "color": [1, 0, 2]}), "between 0 and 1"),
    (_cmd({"type": "SetStrokeStyle", "ids": [1], "color": "#ff0000"}), "3 \\(RGB\\) or 4"),
    (_cmd({"type": "SetStrokeStyle", "ids": [1], "fill": [0, 0, 0, True]}), "fill colour"),
    (_cmd({"type": "SetStrokeStyle", "ids": [1], "opacity": 1.5}), "opacity"),
    (_cmd({"type": "SetStrokeStyle", "ids": [1], "half_width": 0}), "positive"),
    (_cmd({"type": "SetStrokeStyle", "ids": [1], "half_width": 1e9}), "half-width"),
    ('{"type":"command","seq":1,"command":{"type":"SetStrokeStyle","ids":[1],"opacity":NaN}}', "opacity"),
    (_cmd({"type": "SetStrokeStyle", "ids": IDS_TOO_MANY, "opacity": 0.5}), "at most"),
    (_cmd({"type": "SetStrokeStyle", "ids": [-1], "opacity": 0.5}), "stroke id"),
    # Reorder
    (_cmd({"type": "Reorder", "ids": [1], "where": "sideways"}), "where must be one of"),
    (_cmd({"type": "Reorder", "ids": [1], "where": ["top"]}), "where must be one of"),
    (_cmd({"type": "Reorder", "ids": [1, 1], "where": "exact"}), "each stroke id once"),
    (_cmd({"type": "Reorder", "ids": "1", "where": "top"}), "ids must be a list"),
    (_cmd({"type": "Reorder", "ids": IDS_TOO_MANY, "where": "top"}), "at most"),
    (_cmd({"type": "Reorder", "ids": [1.5], "where": "top"}), "stroke id"),
]


@pytest.mark.parametrize(("text", "fragment"), MALFORMED)
def test_malformed_commands_are_refused_before_the_engine(text, fragment):
    with pytest.raises(ProtocolError, match=fragment):
        parse_client_message(decode_message(text))


def test_check_command_still_builds_what_it_checked():
    plain = MID_RUN["transform"].to_plain()
    assert check_command(plain) == MID_RUN["transform"]


async def _bad_session(server, text: str) -> tuple[int, str]:
    """Start a session on a fresh connection, send one raw frame; return (close code, reason)."""
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(
            f"ws://{server.address}/ws", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as ws:
            await ws.receive()  # welcome
            await ws.send_str(encode_message({"type": "start", "config": small_config().to_dict(),
                                              "paused": True}))
            while decode_message((await asyncio.wait_for(ws.receive(), 30)).data)["type"] != "started":
                pass
            await ws.send_str(text)
            while True:
                msg = await asyncio.wait_for(ws.receive(), 30)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return ws.close_code, msg.extra or ""


def test_a_bad_command_closes_only_its_connection(server):
    """One of each kind mid-run: its connection closes with the reason, the other run goes on."""
    nan_matrix = ('{"type":"command","seq":1,"command":{"type":"TransformStrokes","ids":[1],'
                  '"matrix":[NaN,0,0,0,1,0]}}')
    bad = [
        (_cmd({"type": "SetLook", "changes": {"ink": "#12345g"}}), "not a colour"),
        (_cmd({"type": "SetLook", "changes": {"palette": ["#000000", "#ffffff"] * 2000}}), "at most 256"),
        (nan_matrix, "scale or rotation entry must be a number"),
        (_cmd({"type": "SetStrokeStyle", "ids": IDS_TOO_MANY, "opacity": 0.5}), f"at most {MAX_STROKES}"),
        (_cmd({"type": "Reorder", "ids": [1, 1], "where": "exact"}), "each stroke id once"),
        (_cmd({"type": "SetStrokeStyle", "ids": [1], "color": [1, 0, 2]}), "between 0 and 1"),
    ]

    async def scenario():
        good = RemoteClient(server.address, TOKEN)
        await good.connect()
        await good.start(small_config(num_steps=100_000))
        try:
            before = await _events_until(good, lambda e: e.snapshot.step >= 1)
            for text, fragment in bad:
                code, reason = await _bad_session(server, text)
                assert code == 1008 and fragment in reason, (text[:80], reason)
            # the good session also uses the four commands, and carries on
            for command in (MID_RUN["ink"], MID_RUN["transform"], MID_RUN["style"], MID_RUN["reorder"]):
                await good.submit(command)
            after = await _events_until(good, lambda e: e.snapshot.step > before.step + 2 and e.seq >= 4)
            assert after.config.ink == "#203040" and after.drawing.ids[-2:] == [2, 6]
            for _ in range(100):  # the bad ones' sessions end with their connections
                if list(server.server.sessions) == [good.session_id]:
                    break
                await asyncio.sleep(0.1)
            assert list(server.server.sessions) == [good.session_id]
            await good.control("stop")
        finally:
            await good.close()

    asyncio.run(scenario())
