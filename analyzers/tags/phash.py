"""``phash``: a 64-bit perceptual hash (DCT of a 32 x 32 greyscale) via ``imagehash``, as 16 hex digits.

Near-identical frames (re-encoded, slightly blurred, resized) differ by a few bits; unrelated frames by
~20-40 bits of 64. Compare two hashes with ``analyzers.tags.phash_distance``.
"""

from __future__ import annotations

from typing import Any

import imagehash

from ._frame import Frame

__all__ = ["PhashTagger"]


class PhashTagger:
    """Perceptual hash of the whole frame."""

    name = "phash"

    def tag(self, frame: Frame) -> dict[str, Any]:
        return {"phash": str(imagehash.phash(frame.image))}
