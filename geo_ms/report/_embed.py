"""The PNG copy a figure is embedded with in the self-contained HTML report.

The page column is 62rem (~1,000 CSS px): PNGs wider than :data:`EMBED_MAX_PX` are
embedded at that width (box-filtered, 128-colour palette), so the report stays under
3 MB; the Markdown links the full-size files. The figure workers write that copy
beside each PNG they save while :func:`sidecars` is on (the pipeline's report stage:
:func:`write_sidecar`, a hidden ``.<stem>.embed.png`` drawn from the figure's own
pixels), and the report takes it from there (:func:`take_sidecar`) instead of
decoding, downscaling and re-encoding every PNG again in the one report process.
Figures drawn on their own write nothing but the formats asked for.

>>> embed_size((2480, 100)), embed_size((800, 600))
((1240, 50), None)
>>> sidecar_path(Path("figures/map.png")).as_posix()
'figures/.map.embed.png'
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["EMBED_MAX_PX", "embed_bytes", "embed_size", "sidecar_path", "sidecars",
           "take_sidecar", "write_sidecar"]

#: Widest figure the HTML embeds, in pixels.
EMBED_MAX_PX = 1240
#: zlib level of the embedded copies: ~4 % larger than level 9 and six times faster.
_EMBED_ZLIB = 7
#: Whether :func:`write_sidecar` writes (inherited by forked figure workers).
_ON = False


@contextmanager
def sidecars() -> Iterator[None]:
    """Within this block, figures saved as PNG (here or in worker processes forked in
    it) also write their embedded copy for the report.

    >>> from geo_ms.report import _embed
    >>> with sidecars():
    ...     _embed._ON
    True
    >>> _embed._ON
    False
    """
    global _ON
    before, _ON = _ON, True
    try:
        yield
    finally:
        _ON = before


def embed_size(size: tuple[int, int]) -> tuple[int, int] | None:
    """The embedded size of an image of *size* (width, height); None: embed as it is."""
    width, height = size
    if width <= EMBED_MAX_PX:
        return None
    return EMBED_MAX_PX, max(1, round(height * EMBED_MAX_PX / width))


def embed_bytes(img: Any) -> bytes:
    """PNG bytes of the Pillow image *img* downscaled to :data:`EMBED_MAX_PX` wide.

    >>> from PIL import Image
    >>> data = embed_bytes(Image.new("RGB", (2480, 100), "white"))
    >>> Image.open(io.BytesIO(data)).size
    (1240, 50)
    """
    from PIL import Image

    size = embed_size(img.size) or img.size
    small = img.convert("RGB").resize(size, Image.Resampling.BOX).quantize(
        colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    small.save(buf, format="PNG", compress_level=_EMBED_ZLIB)
    return buf.getvalue()


def sidecar_path(png: Path) -> Path:
    """Where the embedded copy of *png* is kept until the report takes it."""
    return png.with_name(f".{png.stem}.embed.png")


def write_sidecar(png: Path, rgb: Any) -> None:
    """Within :func:`sidecars`, write the embedded copy of *png* from its pixels *rgb*
    (a Pillow image), or remove a stale one when *png* is embedded as it is."""
    side = sidecar_path(png)
    if not _ON:
        return
    if embed_size(rgb.size) is None:
        side.unlink(missing_ok=True)
        return
    tmp = side.with_name(side.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(embed_bytes(rgb))
    os.replace(tmp, side)


def take_sidecar(png: Path) -> bytes | None:
    """The embedded copy written for *png* (removed once read), or None when there is
    none or it is older than *png* (drawn again since)."""
    side = sidecar_path(png)
    try:
        fresh = side.stat().st_mtime_ns >= png.stat().st_mtime_ns
        data = side.read_bytes() if fresh else None
    except OSError:
        return None
    side.unlink(missing_ok=True)
    return data
