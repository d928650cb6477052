"""One way to open an ONNX model for the CPU, for every analyzer that runs one with onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cpu_session(model: bytes | Path, threads: int) -> Any:
    """An onnxruntime session on the CPU with ``threads`` intra-op threads that do not spin while idle (the farm
    runs several steps side by side on few cores: spinning threads take the cores the others need)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
