"""Scoring predictions against targets: action accuracy (type and every argument right)
and click accuracy (the point within ``tolerance`` pixels of the true one on each axis)."""

from __future__ import annotations

import numpy as np

from screenpilot.dataset.actions import ACTION_TYPES

from .codec import POINTED, ActionCodec

# Every rank reports all of these, so counts sum across ranks in one fixed-size tensor.
COUNT_KEYS = ("n", "action_ok", "type_ok", "n_point", "point_ok", "n_text", "text_ok",
              "n_key", "key_ok", "n_ground", "ground_ok")  # fmt: skip


def score_batch(codec: ActionCodec, batch: dict, pred: dict, tolerance: int) -> dict:
    """Counts (summable across batches and ranks)."""
    b = {k: v.cpu().numpy() for k, v in batch.items() if k.startswith("t_") or k == "screen"}
    p = {k: v.cpu().numpy() for k, v in pred.items()}
    counts = dict.fromkeys(COUNT_KEYS, 0)
    for i in range(len(b["t_type"])):
        kind = ACTION_TYPES[b["t_type"][i]]
        type_ok = p["type"][i] == b["t_type"][i]
        args_ok = True
        if kind in POINTED:
            x, y = codec.decode_point(p["patch"][i], p["cell"][i], tuple(b["screen"][i]))
            point_ok = abs(x - b["t_x"][i]) <= tolerance and abs(y - b["t_y"][i]) <= tolerance
            if kind == "drag":
                # The end point is scored at its bin: the true pixel is not kept.
                point_ok &= (p["patch2"][i], p["cell2"][i]) == (b["t_patch2"][i], b["t_cell2"][i])
            if kind == "scroll":
                args_ok &= (p["scroll_x"][i], p["scroll_y"][i]) == (
                    b["t_scroll_x"][i], b["t_scroll_y"][i]
                )  # fmt: skip
            counts["n_point"] += 1
            counts["point_ok"] += int(point_ok)
            args_ok &= point_ok
        elif kind == "type":
            text_ok = (p["span_start"][i], p["span_end"][i]) == (
                b["t_span_start"][i], b["t_span_end"][i]
            )  # fmt: skip
            counts["n_text"] += 1
            counts["text_ok"] += int(text_ok)
            args_ok &= text_ok
        elif kind == "key":
            key_ok = p["key"][i] == b["t_key"][i]
            counts["n_key"] += 1
            counts["key_ok"] += int(key_ok)
            args_ok &= key_ok
        counts["n"] += 1
        counts["type_ok"] += int(type_ok)
        counts["action_ok"] += int(type_ok and args_ok)
    return counts


def summarize(counts: dict) -> dict:
    """Counts -> accuracies (absent when nothing of that kind was scored)."""
    out = {}
    for name, total in (("action", "n"), ("type", "n"), ("click", "n_point"),
                        ("text", "n_text"), ("key", "n_key"), ("ground", "n_ground")):  # fmt: skip
        hits = counts["point_ok" if name == "click" else f"{name}_ok"]
        if counts[total]:
            out[f"{name}_acc"] = hits / counts[total]
    out["samples"] = counts["n"]
    return out


def draw_prediction(image_chw: np.ndarray, screen, codec, batch_row: dict, pred_row: dict):
    """A screenshot with the target point (green) and the predicted one (red), and the
    predicted / target action types written under it: (H + 24, W, 3) uint8."""
    import cv2

    img = np.ascontiguousarray(image_chw.transpose(1, 2, 0)).copy()
    h, w = img.shape[:2]
    sx, sy = w / screen[0], h / screen[1]
    if batch_row["t_x"] >= 0:
        cv2.drawMarker(img, (int(batch_row["t_x"] * sx), int(batch_row["t_y"] * sy)),
                       (0, 200, 0), cv2.MARKER_CROSS, 12, 2)  # fmt: skip
    kind = ACTION_TYPES[pred_row["type"]]
    if kind in POINTED:
        x, y = codec.decode_point(pred_row["patch"], pred_row["cell"], tuple(screen))
        cv2.drawMarker(img, (int(x * sx), int(y * sy)), (220, 0, 0), cv2.MARKER_TILTED_CROSS, 10, 2)
    canvas = np.full((h + 24, w, 3), 255, np.uint8)
    canvas[:h] = img
    want = ACTION_TYPES[batch_row["t_type"]]
    cv2.putText(canvas, f"pred {kind}", (2, h + 10), cv2.FONT_HERSHEY_PLAIN, 0.8, (200, 0, 0), 1)
    cv2.putText(canvas, f"true {want}", (2, h + 21), cv2.FONT_HERSHEY_PLAIN, 0.8, (0, 150, 0), 1)
    return canvas
