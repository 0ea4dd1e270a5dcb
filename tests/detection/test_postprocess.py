"""Letterbox, peak decoding and NMS on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest

from numberplate.detection.postprocess import STRIDE, decode, letterbox, nms


def test_letterbox_scales_long_side_and_pads_to_32() -> None:
    img = np.zeros((720, 1280, 3), np.uint8)
    tensor, lb = letterbox(img, 640)
    assert lb.scale == pytest.approx(0.5)
    assert tensor.shape == (1, 384, 640, 3)  # 360 padded up to 384
    assert tensor.dtype == np.uint8
    # Padding rows carry the pad value, image rows carry the image.
    assert (tensor[0, 370, 10] == 114).all()
    assert (tensor[0, 10, 10] == 0).all()


@pytest.mark.parametrize(("shape", "side"), [((720, 1280), 640), ((1280, 720), 640), ((333, 777), 512),
                                             ((100, 50), 640), ((640, 640), 640), ((37, 1000), 640)])
def test_letterbox_content_is_the_resized_image_and_the_rest_is_padding(shape: tuple[int, int], side: int) -> None:
    import cv2

    image = np.random.default_rng(1).integers(0, 256, (*shape, 3), dtype=np.uint8)
    tensor, lb = letterbox(image, side)
    h, w = shape
    nw, nh = max(1, round(w * lb.scale)), max(1, round(h * lb.scale))
    interp = cv2.INTER_AREA if lb.scale < 1 else cv2.INTER_LINEAR
    expected = image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh), interpolation=interp)
    assert tensor.shape == (1, lb.height, lb.width, 3) and lb.width % 32 == 0 and lb.height % 32 == 0
    np.testing.assert_array_equal(tensor[0, :nh, :nw], expected)  # portrait: written into a strided view
    assert (tensor[0, nh:] == 114).all() and (tensor[0, :, nw:] == 114).all()
    view = np.zeros((h + 20, w + 30, 3), np.uint8)
    view[5:5 + h, 7:7 + w] = image
    np.testing.assert_array_equal(letterbox(view[5:5 + h, 7:7 + w], side)[0], tensor)  # a crop view reads the same


def test_nms_keeps_best_of_overlapping_and_separate_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.6, 0.9, 0.5], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]


def test_decode_turns_a_peak_into_its_box() -> None:
    heat = np.zeros((1, 10, 20), np.float32)
    heat[0, 4, 6] = 0.9
    heat[0, 4, 7] = 0.5  # a neighbour below the peak is not a second plate
    dist = np.zeros((4, 10, 20), np.float32)
    dist[:, 4, 6] = [20, 5, 30, 6]
    boxes, scores = decode(heat, dist, threshold=0.3)
    cx, cy = 6.5 * STRIDE, 4.5 * STRIDE
    assert scores.tolist() == pytest.approx([0.9])
    assert boxes.shape == (1, 4)
    assert boxes[0].tolist() == pytest.approx([cx - 20, cy - 5, cx + 30, cy + 6])


def test_decode_below_threshold_is_empty() -> None:
    boxes, scores = decode(np.full((1, 4, 4), 0.1, np.float32), np.ones((4, 4, 4), np.float32), 0.3)
    assert boxes.shape == (0, 4) and scores.shape == (0,)
