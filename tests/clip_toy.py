"""A stand-in image-text model in the layout ``RUSHES_CLIP_MODEL`` takes (analyzers/clip_embedding.py), for tests.

No CLIP weights can be installed here, so the tests of the plug-in point build a model that knows colours: its image
tower averages the normalised picture per channel; its text tower adds the vectors of the colour words of a
description (every other word is unknown and adds nothing). Real ONNX files, a real ``tokenizers`` tokenizer, the
OpenCLIP/Immich folder layout: everything Rushes does with a real CLIP model runs; only the knowledge is tiny.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DIM = 4
COLOURS = {"red": (1, -1, -1), "green": (-1, 1, -1), "blue": (-1, -1, 1), "white": (1, 1, 1), "black": (-1, -1, -1)}


def make_toy_clip(folder: Path, *, text_dim: int = DIM) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from tokenizers import Tokenizer, models, pre_tokenizers

    (folder / "visual").mkdir(parents=True, exist_ok=True)
    (folder / "textual").mkdir(parents=True, exist_ok=True)
    opset = [helper.make_opsetid("", 17)]

    # image tower: N x 3 x S x S -> mean per channel -> N x 4 (the fourth value 0.1: never a zero vector)
    project = np.zeros((3, DIM), dtype=np.float32)
    project[:3, :3] = np.eye(3)
    bias = np.zeros(DIM, dtype=np.float32)
    bias[3] = 0.1
    visual = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["mean"], axes=[2, 3], keepdims=0),
         helper.make_node("MatMul", ["mean", "project"], ["projected"]),
         helper.make_node("Add", ["projected", "bias"], ["embedding"])],
        "visual", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, "s", "s"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", DIM])],
        [numpy_helper.from_array(project, "project"), numpy_helper.from_array(bias, "bias")])
    onnx.save(helper.make_model(visual, opset_imports=opset), folder / "visual" / "model.onnx")

    # text tower: token ids -> a vector per token (pad and unknown words: zero) -> their sum
    vocab = {"<pad>": 0, "<unk>": 1, **{word: i + 2 for i, word in enumerate(COLOURS)}}
    table = np.zeros((len(vocab), text_dim), dtype=np.float32)
    for word, rgb in COLOURS.items():
        table[vocab[word], :3] = rgb
    table[2:, 3 % text_dim] += 0.1
    axes = np.array([1], dtype=np.int64)
    textual = helper.make_graph(
        [helper.make_node("Cast", ["text"], ["ids"], to=TensorProto.INT64),
         helper.make_node("Gather", ["table", "ids"], ["vectors"]),
         helper.make_node("ReduceSum", ["vectors", "axes"], ["embedding"], keepdims=0)],
        "textual", [helper.make_tensor_value_info("text", TensorProto.INT32, ["n", 16])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", text_dim])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(axes, "axes")])
    onnx.save(helper.make_model(textual, opset_imports=opset), folder / "textual" / "model.onnx")

    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(folder / "textual" / "tokenizer.json"))
    (folder / "textual" / "tokenizer_config.json").write_text(json.dumps({"pad_token": "<pad>"}))
    (folder / "visual" / "preprocess_cfg.json").write_text(json.dumps(
        {"size": [32, 32], "mode": "RGB", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
         "interpolation": "bicubic", "resize_mode": "shortest"}))
    (folder / "config.json").write_text(json.dumps({"embed_dim": DIM, "text_cfg": {"context_length": 16}}))
    return folder
