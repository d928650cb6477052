"""``colors``: the dominant colours of a frame, no model.

The frame is shrunk to at most 128 px, quantised to ``count`` colours by median cut, and each colour is
returned as ``("#rrggbb", fraction of pixels)``, most frequent first.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from ._frame import Frame

__all__ = ["ColorsTagger"]


class ColorsTagger:
    """Dominant colours by PIL median-cut quantisation."""

    name = "colors"

    def __init__(self, count: int = 5, size: int = 128) -> None:
        self.count = count
        self.size = size

    def tag(self, frame: Frame) -> dict[str, Any]:
        small = frame.image.copy()
        small.thumbnail((self.size, self.size), Image.Resampling.BILINEAR)
        quantized = small.quantize(colors=self.count, method=Image.Quantize.MEDIANCUT)
        palette = quantized.getpalette() or []
        total = small.width * small.height
        counts = sorted(quantized.getcolors() or [], reverse=True)
        colors = []
        for count, index in counts:  # a palette image: each colour is an index into the palette
            first = 3 * int(index)  # type: ignore[call-overload]
            r, g, b = palette[first : first + 3]
            colors.append((f"#{r:02x}{g:02x}{b:02x}", round(count / total, 4)))
        return {"colors": tuple(colors)}
