"""The first-run download, run for real against a fake Hugging Face hub on 127.0.0.1.

The fake hub is a small http.server thread that answers the two requests
huggingface_hub makes for ``hf_hub_download``: ``HEAD`` and ``GET``
``/{repo}/resolve/{revision}/{filename}`` with the headers the library needs
(ETag, X-Repo-Commit, Content-Length; X-Error-Code on a 404). It serves the state_dict
of a tiny random open_clip model, so the end of the test can load that file through
open_clip itself, offline, from the cache our download filled.

``FakeHub`` and ``tiny_checkpoint`` are reused by tests/gui/test_first_run.py.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from clipdraw_core.clip import weights as cdw
from clipdraw_core.errors import ClipDrawError, WeightsError

TINY_MODEL = "ClipDrawTest-Tiny"
TINY_TAG = "fakehub"
TINY_REPO = "fake-org/tiny-clip"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "patch_size": 32, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


class FakeHub:
    """A threaded HTTP server imitating the hub's resolve endpoint (127.0.0.1 only).

    ``mode``: "ok" serves ``files``; "404" answers 404 to everything; "500" answers 500;
    "lfs" answers like the real hub does for large files: a 302 to a CDN (``cdn``, another
    FakeHub on a different port, i.e. another origin) with X-Linked-Etag/X-Linked-Size.
    Every FakeHub also serves ``/cdn/{repo}/{file}`` directly (that is the CDN side).
    ``chunk``/``delay`` make GETs slow (for cancel tests). ``requests`` logs (method, path).
    """

    def __init__(self, files: dict[tuple[str, str], bytes], *, chunk: int = 1 << 20, delay: float = 0.0):
        self.files = dict(files)
        self.mode = "ok"
        self.cdn: FakeHub | None = None
        self.chunk = chunk
        self.delay = delay
        self.requests: list[tuple[str, str]] = []
        self._stop = threading.Event()
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _match(self) -> re.Match | None:
                return re.match(
                    r"^/(?:cdn/)?(?P<repo>[^/]+/[^/]+)/(?:resolve/(?P<rev>[^/]+)/)?(?P<file>[^?/]+)$",
                    self.path,
                )

            def _lookup(self) -> bytes | None:
                m = self._match()
                return None if m is None else hub.files.get((m["repo"], m["file"]))

            def _answer(self, with_body: bool) -> None:
                hub.requests.append((self.command, self.path))
                if hub.mode == "500":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = None if hub.mode == "404" else self._lookup()
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("X-Error-Message", "Entry not found")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = f'"{hashlib.sha256(data).hexdigest()}"'
                if hub.mode == "lfs" and "/resolve/" in self.path:
                    assert hub.cdn is not None
                    m = self._match()
                    self.send_response(302)
                    self.send_header("Location", f"{hub.cdn.endpoint}/cdn/{m['repo']}/{m['file']}")
                    self.send_header("X-Linked-Etag", etag)
                    self.send_header("X-Linked-Size", str(len(data)))
                    self.send_header("X-Repo-Commit", COMMIT)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if not with_body:
                    return
                try:
                    for start in range(0, len(data), hub.chunk):
                        if hub._stop.is_set():
                            return
                        self.wfile.write(data[start : start + hub.chunk])
                        self.wfile.flush()
                        if hub.delay:
                            time.sleep(hub.delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client cancelled

            def do_HEAD(self) -> None:
                self._answer(with_body=False)

            def do_GET(self) -> None:
                self._answer(with_body=True)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def gets(self) -> int:
        return sum(1 for method, _ in self.requests if method == "GET")

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def closed_port_endpoint() -> str:
    """An http://127.0.0.1:PORT where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def tiny_checkpoint(tmp_dir: Path) -> bytes:
    """Register the tiny model config with open_clip and return a torch.save'd state_dict."""
    import open_clip
    import torch

    cfg_path = tmp_dir / f"{TINY_MODEL}.json"
    cfg_path.write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(str(cfg_path))
    torch.manual_seed(0)
    model = open_clip.create_model(TINY_MODEL, pretrained=None)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def register_tiny_tag(monkeypatch: pytest.MonkeyPatch, repo: str = TINY_REPO) -> None:
    """Make open_clip believe TINY_MODEL has a pretrained tag hosted at ``repo`` on the hub."""
    import open_clip.pretrained as op

    monkeypatch.setitem(op._PRETRAINED, TINY_MODEL, {TINY_TAG: op._pcfg(hf_hub=f"{repo}/")})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return tiny_checkpoint(tmp_path_factory.mktemp("tiny-model"))


def allow_local_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/conftest.py sets HF_HUB_OFFLINE=1 so nothing reaches the internet; these tests
    talk to the fake hub on 127.0.0.1 only, so they switch it back off (for this test only)."""
    from huggingface_hub import constants as hf_constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch, checkpoint: bytes) -> bytes:
    register_tiny_tag(monkeypatch)
    allow_local_hub(monkeypatch)
    return checkpoint


@pytest.fixture
def hub(tiny: bytes):
    with FakeHub({(TINY_REPO, cdw.HF_WEIGHTS_NAME): tiny}) as h:
        yield h


def _no_partial_files(cache: Path) -> bool:
    return not [
        p for p in cache.rglob("*") if p.is_file() and (p.suffix == ".incomplete" or "blobs" in p.parts)
    ]


# ------------------------------------------------------------------------ source mapping


def test_weights_source_matches_open_clip_download_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """We ask for exactly the files open_clip's own downloader asks for, in the same order."""
    import open_clip
    import open_clip.pretrained as op

    calls: list[tuple[str, str]] = []

    def fake_download(repo_id: str, filename: str, revision=None, cache_dir=None):
        calls.append((repo_id, filename))
        raise FileNotFoundError("no network in this test")

    monkeypatch.setattr(op, "hf_hub_download", fake_download)
    for model, tag in [("ViT-B-32", "openai"), ("RN50", "openai"), ("ViT-B-16", "laion2b_s34b_b88k")]:
        calls.clear()
        with pytest.raises(FileNotFoundError):
            op.download_pretrained(open_clip.get_pretrained_cfg(model, tag))
        src = cdw.weights_source(model, tag)
        assert calls == [(src.repo_id, f) for f in src.filenames]
    src = cdw.weights_source("ViT-B-32", "openai")
    assert src.repo_id == "timm/vit_base_patch32_clip_224.openai"
    assert src.filename == "open_clip_model.safetensors"
    assert src.approx_size_bytes and 500e6 < src.approx_size_bytes < 700e6


def test_unknown_tag_is_a_weights_error() -> None:
    with pytest.raises(WeightsError, match="no pretrained weights 'nope'"):
        cdw.weights_source("ViT-B-32", "nope")
    assert not cdw.is_pretrained_tag("ViT-B-32", "random")
    assert cdw.is_pretrained_tag("ViT-B-32", "openai")


def test_nothing_cached_in_an_empty_cache(tmp_path: Path) -> None:
    assert cdw.cached_weights_path("ViT-B-32", "openai", cache_dir=tmp_path) is None


# ------------------------------------------------------------------------ download


def test_download_reports_progress_and_open_clip_loads_it_offline(
    hub: FakeHub, tiny: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import open_clip
    import torch
    from huggingface_hub import constants as hf_constants

    cache = tmp_path / "hf-cache"
    seen: list[tuple[int, int | None]] = []
    path = cdw.download_weights(
        TINY_MODEL,
        TINY_TAG,
        progress=lambda d, t: seen.append((d, t)),
        cache_dir=cache,
        endpoint=hub.endpoint,
    )
    assert path.is_file() and path.read_bytes() == tiny
    # open_clip tries safetensors first: the fake hub 404s it, we fall back to the .bin like open_clip does.
    assert ("HEAD", f"/{TINY_REPO}/resolve/main/{cdw.HF_SAFE_WEIGHTS_NAME}") in hub.requests
    done = [d for d, _ in seen]
    assert len(seen) >= 3, "expected several progress reports for a multi-chunk file"
    assert done == sorted(done), "progress must be monotonic"
    assert seen[-1] == (len(tiny), len(tiny))
    assert all(t == len(tiny) for _, t in seen)

    # Offline afterwards: found in the cache, and open_clip itself loads the very same weights.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    assert cdw.cached_weights_path(TINY_MODEL, TINY_TAG, cache_dir=cache) == path
    gets_before = hub.gets()
    model = open_clip.create_model(TINY_MODEL, pretrained=TINY_TAG, cache_dir=str(cache))
    expected = torch.load(io.BytesIO(tiny), weights_only=True)
    got = model.state_dict()
    assert all(torch.equal(got[k], expected[k]) for k in expected)
    # A second download_weights is a cache hit: no request at all.
    assert cdw.download_weights(TINY_MODEL, TINY_TAG, cache_dir=cache, endpoint=hub.endpoint) == path
    assert hub.gets() == gets_before


def test_safetensors_preferred_when_the_hub_has_it(tiny: bytes, tmp_path: Path) -> None:
    with FakeHub(
        {(TINY_REPO, cdw.HF_SAFE_WEIGHTS_NAME): b"st" * 1000, (TINY_REPO, cdw.HF_WEIGHTS_NAME): tiny}
    ) as hub:
        path = cdw.download_weights(TINY_MODEL, TINY_TAG, cache_dir=tmp_path, endpoint=hub.endpoint)
    assert path.name == cdw.HF_SAFE_WEIGHTS_NAME
    assert cdw.cached_weights_path(TINY_MODEL, TINY_TAG, cache_dir=tmp_path) == path


def test_large_file_redirect_to_a_cdn_like_the_real_hub(tiny: bytes, tmp_path: Path) -> None:
    """The real hub answers a 302 to a CDN (another origin) for weights; metadata rides on the 302."""
    files = {(TINY_REPO, cdw.HF_WEIGHTS_NAME): tiny}
    with FakeHub(files) as cdn, FakeHub(files) as hub:
        hub.mode, hub.cdn = "lfs", cdn
        seen: list[tuple[int, int | None]] = []
        path = cdw.download_weights(
            TINY_MODEL,
            TINY_TAG,
            progress=lambda d, t: seen.append((d, t)),
            cache_dir=tmp_path,
            endpoint=hub.endpoint,
        )
    assert path.read_bytes() == tiny
    assert seen[-1] == (len(tiny), len(tiny))
    assert hub.gets() == 0, "the file itself comes from the CDN"
    assert cdn.gets() == 1 and cdn.requests[-1] == ("GET", f"/cdn/{TINY_REPO}/{cdw.HF_WEIGHTS_NAME}")
    assert cdw.cached_weights_path(TINY_MODEL, TINY_TAG, cache_dir=tmp_path) == path


def test_cancel_midway_leaves_nothing_in_the_cache(hub: FakeHub, tiny: bytes, tmp_path: Path) -> None:
    hub.chunk, hub.delay = 32 * 1024, 0.01  # ~4 s for the whole file: plenty of time to cancel
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int | None) -> None:
        seen.append(done)
        if done >= 512 * 1024:
            cancel.set()

    t0 = time.monotonic()
    with pytest.raises(cdw.DownloadCancelled):
        cdw.download_weights(
            TINY_MODEL, TINY_TAG, progress=progress, cancel=cancel, cache_dir=tmp_path, endpoint=hub.endpoint
        )
    assert time.monotonic() - t0 < 10
    assert 0 < max(seen) < len(tiny), "cancelled part-way, not before or after"
    assert isinstance(cdw.DownloadCancelled("x"), ClipDrawError)
    assert cdw.cached_weights_path(TINY_MODEL, TINY_TAG, cache_dir=tmp_path) is None
    assert _no_partial_files(tmp_path)


def test_cancel_before_start_makes_no_request(hub: FakeHub, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(cdw.DownloadCancelled):
        cdw.download_weights(TINY_MODEL, TINY_TAG, cancel=cancel, cache_dir=tmp_path, endpoint=hub.endpoint)
    assert hub.requests == []


def test_404_is_a_readable_weights_error(hub: FakeHub, tmp_path: Path) -> None:
    hub.mode = "404"
    with pytest.raises(WeightsError, match=r"was not found on http://127\.0\.0\.1") as info:
        cdw.download_weights(TINY_MODEL, TINY_TAG, cache_dir=tmp_path, endpoint=hub.endpoint)
    assert TINY_REPO in str(info.value)
    assert hub.gets() == 0
    assert _no_partial_files(tmp_path)


def test_server_error_is_a_readable_weights_error(hub: FakeHub, tmp_path: Path) -> None:
    hub.mode = "500"
    t0 = time.monotonic()
    with pytest.raises(WeightsError, match="answered HTTP 500"):
        cdw.download_weights(TINY_MODEL, TINY_TAG, cache_dir=tmp_path, endpoint=hub.endpoint)
    assert time.monotonic() - t0 < 10


def test_unreachable_endpoint_is_a_quick_readable_weights_error(tiny: bytes, tmp_path: Path) -> None:
    endpoint = closed_port_endpoint()
    t0 = time.monotonic()
    with pytest.raises(WeightsError, match="unreachable") as info:
        cdw.download_weights(TINY_MODEL, TINY_TAG, cache_dir=tmp_path, endpoint=endpoint, timeout=5)
    assert time.monotonic() - t0 < 10, "offline must fail fast, not retry for minutes"
    assert "load a weights file" in str(info.value)
    assert "Traceback" not in str(info.value)


def test_offline_mode_is_explained(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(WeightsError, match="offline mode is on"):
        cdw.download_weights(TINY_MODEL, TINY_TAG, cache_dir=tmp_path, endpoint=hub.endpoint)
    assert hub.requests == []


def test_not_enough_disk_space(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    real = shutil.disk_usage

    def tiny_disk(path):
        usage = real(path)
        return type(usage)(usage.total, usage.total - 10, 10)

    monkeypatch.setattr(cdw.shutil, "disk_usage", tiny_disk)
    with pytest.raises(WeightsError, match="Not enough disk space"):
        cdw.download_weights(TINY_MODEL, TINY_TAG, cache_dir=tmp_path, endpoint=hub.endpoint)
    assert hub.gets() == 0


def test_disk_full_while_writing_is_explained(tmp_path: Path) -> None:
    import errno

    src = cdw.WeightsSource("ViT-B-32", "openai", "timm/x", ("a.bin",))
    err = cdw._describe_failure(
        OSError(errno.ENOSPC, "No space left on device"), src, "https://hub", tmp_path
    )
    assert "disk holding" in str(err) and "full" in str(err)


# ------------------------------------------------------------------------------ classify_weights


def test_classify_weights_random_tag_file_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for text in ("random", "RANDOM", " none ", "", None):
        assert cdw.classify_weights(text, "ViT-B-32") == cdw.WEIGHTS_RANDOM
    assert cdw.classify_weights("openai", "ViT-B-32") == cdw.WEIGHTS_TAG
    assert cdw.classify_weights("laion2b_s34b_b79k", "ViT-B-32") == cdw.WEIGHTS_TAG
    # a tag of another model, or with no model to look it up in, is not a tag
    assert cdw.classify_weights("openai", None) == cdw.WEIGHTS_UNKNOWN
    assert cdw.classify_weights("openai", "no-such-model") == cdw.WEIGHTS_UNKNOWN
    for text in ("ckpt/model", "C:\\weights\\m", "missing.safetensors", "x.PT", "~/m.bin"):
        assert cdw.classify_weights(text, "ViT-B-32") == cdw.WEIGHTS_FILE, text
    plain = tmp_path / "mycheckpoint"
    plain.write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert cdw.classify_weights("mycheckpoint", "ViT-B-32") == cdw.WEIGHTS_FILE  # an existing file
    assert cdw.classify_weights("typo-tag", "ViT-B-32") == cdw.WEIGHTS_UNKNOWN
