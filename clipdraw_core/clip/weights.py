"""First-run download of CLIP weights, with progress and cancel, into the standard HF cache.

open_clip downloads pretrained weights itself (``create_model(..., pretrained='openai')``),
but silently and without a way to cancel: the first run of a GUI would freeze for
minutes, and a failure on a plane shows a traceback. This module does the same download
up front, through huggingface_hub's own machinery so the file lands exactly where
open_clip will look for it afterwards:

* the same repository and file name open_clip picks (``get_pretrained_cfg(...)['hf_hub']``,
  trying ``open_clip_model.safetensors`` before ``open_clip_pytorch_model.bin`` just as
  ``open_clip.pretrained.download_pretrained_from_hf`` does);
* the same cache (``hf_hub_download`` with the same ``cache_dir``, default the user's
  Hugging Face cache, and revision ``main``), so open_clip then finds it with no network.

Progress and cancel ride on ``hf_hub_download``'s ``tqdm_class`` hook: the library calls
``update(n)`` for every chunk it writes; our class reports bytes and raises
:class:`DownloadCancelled` when the cancel event is set. huggingface_hub downloads into a
process-unique temporary file and deletes it on any exception, so a cancelled or failed
download leaves nothing half-written in the cache.

Errors come out as :class:`~clipdraw_core.errors.WeightsError` with a sentence for the
artist (offline, hub unreachable, not found, disk full), never a raw HTTP traceback.
No Qt here: the GUI runs :func:`download_weights` in a worker thread.
"""

from __future__ import annotations

import errno
import logging
import os
import posixpath
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipdraw_core.clip.model_catalog import approx_download_bytes
from clipdraw_core.errors import ClipDrawError, WeightsError

logger = logging.getLogger(__name__)

# open_clip.constants; repeated here as plain strings so this module imports quickly.
HF_WEIGHTS_NAME = "open_clip_pytorch_model.bin"
HF_SAFE_WEIGHTS_NAME = "open_clip_model.safetensors"
REVISION = "main"  # what open_clip asks for (revision=None means "main")
# huggingface_hub reads the body in DOWNLOAD_CHUNK_SIZE pieces (10 MiB) and calls the progress
# hook once per piece: on a slow line a Cancel could wait tens of seconds. We lower that
# process-wide setting (read at call time) to this size; it only changes the granularity.
PROGRESS_CHUNK_SIZE = 256 * 1024

ProgressCallback = Callable[[int, "int | None"], None]


class DownloadCancelled(ClipDrawError):
    """The user cancelled the download; nothing was left in the cache."""


@dataclass(frozen=True)
class WeightsSource:
    """Where open_clip gets one model's pretrained weights on the Hugging Face hub."""

    model_name: str
    pretrained: str
    repo_id: str
    filenames: tuple[str, ...]  # candidates in the order open_clip tries them
    approx_size_bytes: int | None = None

    @property
    def filename(self) -> str:
        """The preferred file (safetensors when open_clip would try it first)."""
        return self.filenames[0]


def _safetensors_available() -> bool:
    try:
        import safetensors.torch  # noqa: F401
    except ImportError:
        return False
    return True


def _candidate_filenames(filename: str) -> tuple[str, ...]:
    """Mirror ``open_clip.pretrained._get_safe_alternatives`` + the fallback to ``filename``."""
    alternatives: list[str] = []
    if _safetensors_available():
        if filename == HF_WEIGHTS_NAME:
            alternatives.append(HF_SAFE_WEIGHTS_NAME)
        elif filename.endswith((".bin", ".pth")):
            alternatives.append(filename[:-4] + ".safetensors")
    return (*alternatives, filename)


#: File suffixes of open_clip checkpoints (a weights string ending so is a file path).
WEIGHTS_FILE_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")
WEIGHTS_RANDOM = "random"
WEIGHTS_TAG = "tag"
WEIGHTS_FILE = "file"
WEIGHTS_UNKNOWN = "unknown"


def classify_weights(weights: str | None, model_name: str | None = None) -> str:
    """What a weights string means; the one answer the CLI, the loader and the GUI share.

    * :data:`WEIGHTS_RANDOM` for ``"random"``, ``"none"`` or an empty string (random init);
    * :data:`WEIGHTS_TAG` for an open_clip pretrained tag of ``model_name`` (downloadable);
    * :data:`WEIGHTS_FILE` for anything that looks like a checkpoint path (a path
      separator, a checkpoint suffix, or an existing file): it is loaded as a file;
    * :data:`WEIGHTS_UNKNOWN` otherwise (``load_clip`` then lists the model's tags).

    Without ``model_name`` no string is a tag. Never uses the network.
    """
    text = (weights or "").strip()
    if text.lower() in ("", "random", "none"):
        return WEIGHTS_RANDOM
    if model_name:
        try:
            if is_pretrained_tag(model_name, text):
                return WEIGHTS_TAG
        except Exception as exc:  # e.g. an unknown model name: not a tag of it
            logger.debug("cannot look up tag %s/%s: %s", model_name, text, exc)
    if (
        "/" in text
        or "\\" in text
        or os.sep in text
        or Path(text).suffix.lower() in WEIGHTS_FILE_SUFFIXES
        or os.path.exists(text)
    ):
        return WEIGHTS_FILE
    return WEIGHTS_UNKNOWN


def is_pretrained_tag(model_name: str, pretrained: str) -> bool:
    """True when ``pretrained`` is an open_clip tag for ``model_name`` (not a path or 'random')."""
    import open_clip

    return bool(open_clip.get_pretrained_cfg(model_name, pretrained))


def weights_source(model_name: str, pretrained: str) -> WeightsSource:
    """Which hub repository and file open_clip uses for ``(model_name, pretrained)``.

    Raises WeightsError when open_clip has no such tag, or the tag is not on the hub.
    """
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(model_name)
        known = ", ".join(tags) if tags else "none"
        raise WeightsError(
            f"open_clip has no pretrained weights {pretrained!r} for model {model_name!r} "
            f"(known tags: {known})."
        )
    hf_hub = cfg.get("hf_hub") or ""
    if not hf_hub:
        raise WeightsError(
            f"The weights {model_name}/{pretrained} are not hosted on the Hugging Face hub; "
            "download the checkpoint yourself and load it as a file."
        )
    # Same split as open_clip.pretrained.download_pretrained: 'org/repo/' or 'org/repo/file.bin'.
    repo_id, filename = posixpath.split(hf_hub)
    filename = filename or HF_WEIGHTS_NAME
    return WeightsSource(
        model_name=model_name,
        pretrained=pretrained,
        repo_id=repo_id,
        filenames=_candidate_filenames(filename),
        approx_size_bytes=approx_download_bytes(model_name),
    )


def cached_weights_path(
    model_name: str, pretrained: str, cache_dir: str | os.PathLike[str] | None = None
) -> Path | None:
    """The cached checkpoint open_clip would load for this tag, or None. Never uses the network."""
    from huggingface_hub import try_to_load_from_cache

    source = weights_source(model_name, pretrained)
    for filename in source.filenames:
        found = try_to_load_from_cache(
            source.repo_id, filename, cache_dir=_cache_arg(cache_dir), revision=REVISION
        )
        if isinstance(found, str) and os.path.isfile(found):
            return Path(found)
    return None


def _cache_arg(cache_dir: str | os.PathLike[str] | None) -> str | None:
    return None if cache_dir is None else os.fspath(cache_dir)


def default_cache_dir() -> Path:
    """The Hugging Face hub cache open_clip uses when no cache_dir is given."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _make_progress_class(progress: ProgressCallback | None, cancel: threading.Event | None) -> type:
    """A tqdm-like class for ``hf_hub_download(tqdm_class=...)`` that reports and cancels."""

    class _Progress:
        def __init__(self, *args: Any, total: int | None = None, initial: int = 0, **kwargs: Any) -> None:
            self.total = total
            self.n = max(0, int(initial or 0))
            self._check()
            self._report()

        def _check(self) -> None:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("Download cancelled.")

        def _report(self) -> None:
            if progress is not None:
                progress(self.n, self.total)

        def update(self, n: float | None = 1) -> None:
            self._check()
            # Negative updates happen when the server ignores a resume Range and the library
            # restarts from zero; keep counting the real bytes on disk.
            self.n = max(0, self.n + int(n or 0))
            self._report()

        def __enter__(self) -> _Progress:
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

        def close(self) -> None:
            pass

        def set_description(self, *args: Any, **kwargs: Any) -> None:
            pass

        def refresh(self, *args: Any, **kwargs: Any) -> None:
            pass

    return _Progress


def _walk_causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _status_code(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _is_not_found(exc: BaseException) -> bool:
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    if isinstance(exc, (EntryNotFoundError, RevisionNotFoundError, RepositoryNotFoundError)):
        # LocalEntryNotFoundError is an EntryNotFoundError too but means "not cached + no network".
        from huggingface_hub.errors import LocalEntryNotFoundError

        return not isinstance(exc, LocalEntryNotFoundError)
    return _status_code(exc) == 404


def _network_error_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeout types, connection types) of whichever HTTP client this huggingface_hub uses.

    huggingface_hub 2.x uses httpx2, 1.x httpx, 0.x requests; we were tested with 2.4.
    """
    timeouts: list[type[BaseException]] = [TimeoutError]
    network: list[type[BaseException]] = [ConnectionError]
    for module_name in ("httpx2", "httpx"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        network += [module.NetworkError, module.RemoteProtocolError]
    try:
        import requests
    except ImportError:
        pass
    else:
        timeouts.append(requests.Timeout)
        network.append(requests.ConnectionError)
    return tuple(timeouts), tuple(network)


def _describe_failure(exc: BaseException, source: WeightsSource, where: str, cache_dir: Path) -> WeightsError:
    """Turn whatever huggingface_hub/httpx/OS raised into one sentence for the artist."""
    from huggingface_hub.errors import GatedRepoError, OfflineModeIsEnabled

    timeout_types, network_types = _network_error_types()

    what = f"the CLIP weights for {source.model_name} ({source.pretrained})"
    for err in _walk_causes(exc):
        if isinstance(err, OfflineModeIsEnabled):
            return WeightsError(
                f"Cannot download {what}: offline mode is on (HF_HUB_OFFLINE is set). "
                "Unset it and retry, or load a weights file."
            )
        if isinstance(err, GatedRepoError):
            return WeightsError(f"Cannot download {what}: {where} requires a login for {source.repo_id}.")
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            return WeightsError(
                f"Cannot download {what}: the disk holding {cache_dir} is full. Free some space and retry."
            )
        if isinstance(err, PermissionError):
            return WeightsError(f"Cannot download {what}: no permission to write to {cache_dir}.")
        if isinstance(err, timeout_types):
            return WeightsError(
                f"Cannot download {what}: {where} did not answer in time. Check your connection and retry, "
                "or load a weights file."
            )
        if isinstance(err, network_types):
            return WeightsError(
                f"Cannot download {what}: {where} is unreachable (no network?). Connect and retry, "
                "or load a weights file."
            )
        if _is_not_found(err):
            return WeightsError(
                f"Cannot download {what}: {source.repo_id}/{source.filenames[-1]} was not found on {where}."
            )
        code = _status_code(err)
        if code is not None:
            return WeightsError(f"Cannot download {what}: {where} answered HTTP {code}. Retry later.")
        if isinstance(err, OSError) and "Consistency check failed" in str(err):
            return WeightsError(f"Downloading {what} was interrupted (incomplete file). Retry.")
    return WeightsError(f"Cannot download {what}: {exc}")


def _check_free_space(size: int | None, cache_dir: Path) -> None:
    if not size:
        return
    probe = cache_dir
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if free < size:
        raise WeightsError(
            f"Not enough disk space for the CLIP weights: {size / 1e6:.0f} MB needed, "
            f"{free / 1e6:.0f} MB free at {cache_dir}. Free some space and retry."
        )


def download_weights(
    model_name: str,
    pretrained: str,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    endpoint: str | None = None,
    timeout: float = 30,
) -> Path:
    """Download the weights for ``(model_name, pretrained)`` into the HF cache; return the file.

    ``progress(done_bytes, total_bytes_or_None)`` is called from the calling thread for each
    chunk (and once at the start). ``cancel`` is checked before each request and between
    chunks: when set, :class:`DownloadCancelled` is raised and no partial file remains.
    ``endpoint`` overrides the hub URL (tests, mirrors; ``HF_ENDPOINT`` works too).
    ``timeout`` bounds each metadata request. Already cached: returns at once.
    Failures raise WeightsError with a readable message.
    """
    from huggingface_hub import constants as hf_constants
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    source = weights_source(model_name, pretrained)
    cache_path = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    where = endpoint or hf_constants.ENDPOINT
    cached = cached_weights_path(model_name, pretrained, cache_dir)
    if cached is not None:
        logger.info("weights for %s/%s already cached at %s", model_name, pretrained, cached)
        if progress is not None:
            cached_size = cached.stat().st_size
            progress(cached_size, cached_size)
        return cached

    # Ask for metadata first without retries: fast, clear failure when offline, and it tells
    # which candidate file exists (open_clip prefers safetensors) and how big it is.
    chosen: str | None = None
    size: int | None = None
    last_error: BaseException | None = None
    for filename in source.filenames:
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled("Download cancelled.")
        url = hf_hub_url(source.repo_id, filename, revision=REVISION, endpoint=endpoint)
        try:
            meta = get_hf_file_metadata(url, timeout=timeout, endpoint=endpoint)
        except Exception as exc:
            if _is_not_found(exc):
                logger.info("%s not on %s, trying the next candidate", url, where)
                last_error = exc
                continue
            raise _describe_failure(exc, source, where, cache_path) from exc
        chosen, size = filename, meta.size
        break
    if chosen is None:
        assert last_error is not None
        raise _describe_failure(last_error, source, where, cache_path) from last_error

    _check_free_space(size, cache_path)
    hf_constants.DOWNLOAD_CHUNK_SIZE = min(hf_constants.DOWNLOAD_CHUNK_SIZE, PROGRESS_CHUNK_SIZE)
    logger.info("downloading %s/%s (%s bytes) from %s", source.repo_id, chosen, size, where)
    try:
        path = hf_hub_download(
            repo_id=source.repo_id,
            filename=chosen,
            revision=REVISION,
            cache_dir=_cache_arg(cache_dir),
            endpoint=endpoint,
            etag_timeout=timeout,
            tqdm_class=_make_progress_class(progress, cancel),
            library_name="open_clip",
        )
    except DownloadCancelled:
        logger.info("download of %s/%s cancelled", source.repo_id, chosen)
        raise
    except ClipDrawError:
        raise
    except Exception as exc:
        raise _describe_failure(exc, source, where, cache_path) from exc
    return Path(path)
