"""MP4 writing for rollouts (H.264 through imageio-ffmpeg's bundled ffmpeg; no network)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np


def write_mp4(path: str | Path, frames: Iterable[np.ndarray], fps: float) -> Path:
    """Write uint8 HxWx3 frames to ``path`` (parent folders created) and return the path."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(path, fps=fps, codec="libx264", quality=7, macro_block_size=1) as writer:
        count = 0
        for frame in frames:
            writer.append_data(np.asarray(frame, dtype=np.uint8))
            count += 1
    if count == 0:
        path.unlink(missing_ok=True)
        raise ValueError(f"no frames to write to {path}")
    return path
