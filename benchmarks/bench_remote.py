"""Remote (loopback clipdraw-server) against local: it/s and snapshot bytes per step, in one run.

Runs the same job (CLIP ViT-B/32 with random weights by default, the original's 256
strokes at 224 px) locally with a ``Session`` and through a ``clipdraw-server`` on
127.0.0.1 in this process, alternating local and remote ``--repeats`` times, and
prints the median it/s of each, their ratio, the bytes of one snapshot message as
received on the wire (bytes per step when every step is sent) and how many snapshots
the client received per step taken (below 1 when the server coalesced them).
``--image-prompt`` adds a 512 px image prompt (about 0.8 MB of PNG) to both runs: the
picture goes up once and snapshots stay the same size (it is not repeated per step).

Usage: python benchmarks/bench_remote.py [--steps N] [--repeats R] [--model M --weights W]
       [--image-prompt]
Last line: ``local_its=A remote_its=B remote_over_local=R snapshot_bytes=S received_per_step=F``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--paths", type=int, default=256)
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--image-prompt", action="store_true", help="add a 512 px image prompt to both runs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from clipdraw_core.clip.clip_model import load_clip
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session
    from clipdraw_core.remote.client import RemoteClient
    from clipdraw_core.remote.server import BackgroundServer, ServerOptions

    config = SessionConfig(prompt="Watercolor painting of an underwater submarine.", num_paths=args.paths,
                           num_steps=args.steps)
    clip = load_clip(args.model, args.weights, device=args.device)
    guidance = None
    if args.image_prompt:
        import io

        import numpy as np
        from PIL import Image

        from clipdraw_core.drawing.guidance import Guidance, ImagePrompt

        pixels = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="PNG")
        guidance = Guidance(images=(ImagePrompt("noise.png", buf.getvalue(), 0.5),))
        print(f"image prompt: {len(buf.getvalue())} bytes of PNG")

    def local() -> float:
        session = Session(config, clip, guidance=guidance)
        start = time.perf_counter()
        for _ in session.run():
            pass
        return args.steps / (time.perf_counter() - start)

    received: list[float] = []
    sizes: list[float] = []

    async def remote_once(address: str) -> float:
        client = RemoteClient(address)
        await client.connect()
        try:
            await client.start(config, guidance=guidance)
            start = time.perf_counter()
            count = 0
            bytes_before, messages_before = client.received_bytes, client.received_messages
            async for event in client.events():
                if event.snapshot is not None:
                    count += 1
                    if event.snapshot.done:
                        break
            elapsed = time.perf_counter() - start
            messages = client.received_messages - messages_before
            sizes.append((client.received_bytes - bytes_before) / max(1, messages))
            received.append(count / args.steps)
            await client.control("stop")
            return args.steps / elapsed
        finally:
            await client.close()

    options = ServerOptions(host="127.0.0.1", port=0, devices=(args.device,), model=args.model,
                            weights=args.weights)
    with BackgroundServer(options) as server:
        server.server.preload()
        asyncio.run(remote_once(server.address))  # warm-up (first session, model cached)
        received.clear()
        sizes.clear()
        local()
        local_its, remote_its = [], []
        for _ in range(args.repeats):
            local_its.append(local())
            remote_its.append(asyncio.run(remote_once(server.address)))
    loc, rem = statistics.median(local_its), statistics.median(remote_its)
    print(f"local  it/s: {', '.join(f'{v:.2f}' for v in local_its)}")
    print(f"remote it/s: {', '.join(f'{v:.2f}' for v in remote_its)}")
    print(
        f"local_its={loc:.3f} remote_its={rem:.3f} remote_over_local={rem / loc:.3f} "
        f"snapshot_bytes={statistics.median(sizes):.0f} received_per_step={statistics.median(received):.2f}"
    )


if __name__ == "__main__":
    main()
