"""Training windows for the plate verifier: what the detector finds in the train scenes, labelled by the boxes.

Each scene is run through the detector at a low threshold, as at inference (full image, tiles). A
detection overlapping a labelled plate (IoU >= ``POSITIVE_IOU``) is a plate; one overlapping none
(IoU < ``NEGATIVE_IOU``) is not, unless the recogniser reads it as a plate of a known layout (a plate
the labels leave unboxed); those in between are left out. Every labelled box is a plate too, so
plates the detector scores low are still taught; and, for each of ``repaints``, each labelled plate
once more painted over by a rendered plate of another design (``train.synth.composite.swap_plates``;
``swap_square_plates``: a two-line plate over the box grown to its shape), so that plates of
countries and shapes the data lacks are not taken for signs. A non-plate box on its side
(taller than ``SIDEWAYS_ASPECT`` times its width) is also taught turned a quarter both ways, as the
verifier looks at such boxes turned too (kind TURNED).

Windows are stored wider than the verifier sees (``STORE_CONTEXT`` instead of
:data:`numberplate.detection.verify.CONTEXT`), so training can cut them a little off-centre and
at other scales; the centre cut is exactly what :func:`numberplate.detection.verify.context_window`
gives at inference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from numberplate.detection.base import Detector, own_detections
from numberplate.detection.postprocess import box_array, box_iou
from numberplate.detection.verify import CONTEXT, INPUT_SIZE, context_window
from numberplate.formats.patterns import AUTO
from numberplate.recognition.base import Recognizer, own_scores
from numberplate.recognition.crop import SIDEWAYS_ASPECT, crop_plate
from numberplate.train.detect.data import Scene
from numberplate.train.detect.mine import looks_like_plate
from numberplate.types import BoundingBox

POSITIVE_IOU = 0.5
NEGATIVE_IOU = 0.1
STORE_CONTEXT = CONTEXT * 1.25
STORE_SIZE = (round(INPUT_SIZE[0] * 1.25), round(INPUT_SIZE[1] * 1.25))  # same scale as the input: centre cut = input

DETECTED, LABELLED, PAINTED, TURNED = 0, 1, 2, 3


@dataclass
class Windows:
    """Labelled windows and where they came from.

    ``images`` (N, H, W, 3) uint8 at ``STORE_SIZE``; ``labels`` 1 plate / 0 not; ``kind`` DETECTED,
    LABELLED, PAINTED or TURNED; ``scene`` the index of the scene in ``scenes``; ``boxes`` (N, 4) and ``scores`` (the
    detector's; 1 for labelled boxes). ``scenes`` holds each scene's (path, source, labelled boxes).
    """

    images: np.ndarray
    labels: np.ndarray
    kind: np.ndarray
    scene: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    scenes: list[tuple[str, str, np.ndarray]]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, scene_ids: Iterable[int]) -> Windows:
        """The windows of the given scenes (scene indices kept)."""
        keep = np.isin(self.scene, np.fromiter(scene_ids, int))
        return Windows(self.images[keep], self.labels[keep], self.kind[keep], self.scene[keep], self.boxes[keep],
                       self.scores[keep], self.scenes)


Repaint = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``(image, boxes) -> (painted image, its plate boxes)``: a scene's plates painted over by others."""


def collect_windows(scenes: Iterable[Scene], detector: Detector, recognizer: Recognizer | None = None,
                    plate_confidence: float = 0.3, repaints: Sequence[Repaint] = ()) -> Windows:
    """Detect in every scene and cut the labelled windows (see the module docstring).

    Args:
        scenes: decoded labelled scenes, at the size inference sees them.
        detector: finds the candidates; give it a low threshold (e.g. 0.1).
        recognizer: when given, a detection off the labels that it reads as a plate is left out.
        plate_confidence: the reading confidence above which such a detection is taken for a plate.
        repaints: each paints the scene's labelled plates over (:data:`Repaint`); each plate box of
            each painted scene is one more plate window (kind PAINTED).
    """
    images, labels, kind, scene_ids, boxes, scores = [], [], [], [], [], []
    table: list[tuple[str, str, np.ndarray]] = []

    def add(image: np.ndarray, box: np.ndarray, label: int, what: int, score: float, turn: int = 0) -> None:
        images.append(context_window(image, BoundingBox(*map(float, box)), STORE_SIZE, STORE_CONTEXT, turn))
        labels.append(label)
        kind.append(what)
        scene_ids.append(len(table))
        boxes.append(box)
        scores.append(score)

    for sc in scenes:
        found = own_detections(detector)(sc.image)
        pred = box_array(d.box for d in found)
        best = box_iou(pred, sc.boxes).max(1) if len(sc.boxes) and len(pred) else np.zeros(len(pred))
        for det, box, overlap in zip(found, pred, best):
            if overlap >= POSITIVE_IOU:
                add(sc.image, box, 1, DETECTED, det.confidence)
            elif overlap < NEGATIVE_IOU:
                if recognizer is not None and looks_like_plate(own_scores(recognizer)(crop_plate(sc.image, det), AUTO),
                                                               plate_confidence):
                    continue
                add(sc.image, box, 0, DETECTED, det.confidence)
                if det.box.height > SIDEWAYS_ASPECT * det.box.width:
                    for turn in (1, -1):
                        add(sc.image, box, 0, TURNED, det.confidence, turn)
        for box in sc.boxes:
            add(sc.image, box, 1, LABELLED, 1.0)
        for repaint in repaints if len(sc.boxes) else ():
            painted, painted_boxes = repaint(sc.image, sc.boxes)
            for box in painted_boxes:
                add(painted, box, 1, PAINTED, 1.0)
        table.append((sc.path, sc.source, sc.boxes.copy()))
    h, w = STORE_SIZE
    return Windows(np.stack(images) if images else np.zeros((0, h, w, 3), np.uint8), np.array(labels, np.float32),
                   np.array(kind, np.int8), np.array(scene_ids, np.int64),
                   np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32), table)


def invert_plate(window: np.ndarray) -> np.ndarray:
    """A stored window with the box at its centre (the middle ``1 / STORE_CONTEXT`` of each side) in negative:
    a light plate with dark characters becomes a dark one with light characters (classic UK, Pakistani, old
    Japanese plates), which the labelled data has few of."""
    h, w = window.shape[:2]
    dy, dx = round(h * (1 - 1 / STORE_CONTEXT) / 2), round(w * (1 - 1 / STORE_CONTEXT) / 2)
    out = window.copy()
    out[dy:h - dy, dx:w - dx] = 255 - out[dy:h - dy, dx:w - dx]
    return out


def cut(window: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """The verifier's input from a stored window: its centre (exactly the inference window), or with
    ``rng`` a jittered cut (scale, aspect, shift) and photometric noise (brightness, contrast, grey, blur,
    noise). Returns uint8 (H, W, 3) at :data:`INPUT_SIZE`."""
    h, w = window.shape[:2]
    out_h, out_w = INPUT_SIZE
    if rng is None:
        y0, x0 = (h - out_h) // 2, (w - out_w) // 2
        return np.ascontiguousarray(window[y0:y0 + out_h, x0:x0 + out_w])
    scale = rng.uniform(0.85, 1.15) * out_h / h
    ch, cw = h * scale, w * min(scale * rng.uniform(0.9, 1.1), 1.0)
    cx, cy = w / 2 + rng.uniform(-0.05, 0.05) * w, h / 2 + rng.uniform(-0.07, 0.07) * h
    src = np.array([[cx - cw / 2, cy - ch / 2], [cx + cw / 2, cy - ch / 2], [cx - cw / 2, cy + ch / 2]], np.float32)
    m = cv2.getAffineTransform(src, np.array([[0, 0], [out_w, 0], [0, out_h]], np.float32))
    out: np.ndarray = cv2.warpAffine(window, m, (out_w, out_h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(114, 114, 114)).astype(np.float32)
    out = out * rng.uniform(0.6, 1.4) + rng.uniform(-30, 30)
    if rng.random() < 0.3:
        out = out.mean(2, keepdims=True).repeat(3, 2)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.5))
    out = out + rng.normal(0, rng.uniform(0, 8), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)
