"""``ocr``: text burnt into a frame (slates, lower thirds, subtitles) with RapidOCR (PP-OCR ONNX models
inside the ``rapidocr`` package, run by onnxruntime; Apache-2.0).

The three model files are passed to RapidOCR explicitly, so it never tries to download one; a missing file
is a ``ConfigError`` (pass ``model_dir=`` a local folder holding the same file names instead).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rapidocr

from rushes.errors import ConfigError

from ._frame import Frame

__all__ = ["MODEL_FILES", "OcrTagger", "TextLine"]

MODEL_FILES = {
    "Det.model_path": "PP-OCRv6_det_small.onnx",
    "Rec.model_path": "PP-OCRv6_rec_small.onnx",
    "Cls.model_path": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}

if importlib.util.find_spec("onnxruntime") is None:  # rapidocr does not require it, but runs its models with it
    raise ImportError("rapidocr needs onnxruntime: pip install onnxruntime")

_PACKAGE_MODELS = Path(rapidocr.__file__).parent / "models"


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of text: recognition score 0..1 and its quadrilateral ``((x, y), ...)`` in pixels, clockwise."""

    text: str
    score: float
    box: tuple[tuple[int, int], ...]


class OcrTagger:
    """Lines of text with scores and boxes, in reading order, and the lines joined by newlines."""

    name = "ocr"

    def __init__(
        self, model_dir: str | os.PathLike[str] | None = None, min_score: float = 0.5, threads: int = 1
    ) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else _PACKAGE_MODELS
        self.params: dict[str, Any] = {key: str(self.model_dir / file) for key, file in MODEL_FILES.items()}
        missing = [path for path in self.params.values() if not Path(path).is_file()]
        if missing:
            raise ConfigError(f"OCR model files missing: {', '.join(missing)}; nothing is downloaded at run time")
        self.params["Global.log_level"] = "error"
        self.params["Global.text_score"] = min_score
        # one onnxruntime thread: ~0.26 s a 720p slate on a busy 2-core machine, ~0.47 s with all cores
        self.params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        self._engine: Any = None
        self._lock = threading.Lock()

    def tag(self, frame: Frame) -> dict[str, Any]:
        with self._lock:
            if self._engine is None:
                self._engine = rapidocr.RapidOCR(params=self.params)
            result = self._engine(frame.bgr)
        lines = []
        if result.txts:
            for text, score, box in zip(result.txts, result.scores, result.boxes, strict=True):
                points = tuple((round(float(x)), round(float(y))) for x, y in box)
                lines.append(TextLine(text=text, score=round(float(score), 4), box=points))
        return {"text_lines": tuple(lines), "text": "\n".join(line.text for line in lines)}
