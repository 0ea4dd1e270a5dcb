"""Draw plate reads on an image: boxes, corner outlines and the text with its confidence."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from numberplate.types import PlateRead

BOX_COLOUR = (0, 200, 80)
LABEL_TEXT = (0, 0, 0)


def annotate(image: np.ndarray, reads: Sequence[PlateRead]) -> np.ndarray:
    """A copy of an RGB image with each plate's box and ``TEXT 97%`` label drawn on it."""
    out = image.copy()
    h, w = out.shape[:2]
    thickness = max(2, round(max(h, w) / 500))
    font_scale = max(0.5, max(h, w) / 1400)
    for read in reads:
        b = read.detection.box
        p0, p1 = (round(b.xmin), round(b.ymin)), (round(b.xmax), round(b.ymax))
        cv2.rectangle(out, p0, p1, BOX_COLOUR, thickness)
        if read.detection.corners:
            pts = np.round(np.array(read.detection.corners)).astype(np.int32)
            cv2.polylines(out, [pts], True, (255, 200, 0), max(1, thickness // 2))
        label = f"{read.text.text} {read.text.confidence:.0%}" if read.text and read.text.text else "?"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        # Label above the box, or inside its top edge when the box touches the image top.
        y_text = p0[1] - 4 if p0[1] - th - base - 4 >= 0 else p0[1] + th + 4
        x_text = min(max(p0[0], 0), max(w - tw - 2, 0))
        cv2.rectangle(out, (x_text, y_text - th - 3), (x_text + tw + 2, y_text + base - 1), BOX_COLOUR, -1)
        cv2.putText(out, label, (x_text + 1, y_text - 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, LABEL_TEXT,
                    max(1, thickness // 2), cv2.LINE_AA)
    return out
