"""Deskewing plate crops from their edges: known angles are found and levelled; level or blank crops pass."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from numberplate.recognition.crop import crop_plate, orientations
from numberplate.recognition.rectify import deskew, skew_angle
from numberplate.types import BoundingBox, Detection


def plate(angle: float) -> np.ndarray:
    """A synthetic plate (white, black border, six black characters) rotated by ``angle`` degrees."""
    img = np.full((120, 360, 3), 90, np.uint8)
    cv2.rectangle(img, (40, 30), (320, 90), (255, 255, 255), -1)
    cv2.rectangle(img, (40, 30), (320, 90), (0, 0, 0), 3)
    for x in range(60, 300, 40):
        cv2.rectangle(img, (x, 42), (x + 22, 78), (0, 0, 0), -1)
    m = cv2.getRotationMatrix2D((180, 60), angle, 1.0)
    return cv2.warpAffine(img, m, (360, 120), borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("angle", [-15.0, -6.0, 3.0, 9.0, 20.0])
def test_known_skew_is_found_and_levelled(angle: float) -> None:
    assert skew_angle(plate(angle)) == pytest.approx(angle, abs=0.6)
    assert abs(skew_angle(deskew(plate(angle)))) < 1.5


def test_level_blank_and_tiny_crops_are_left_alone() -> None:
    level = plate(0.0)
    assert skew_angle(level) == 0.0 and deskew(level) is level
    blank = np.full((40, 120, 3), 128, np.uint8)
    assert deskew(blank) is blank
    assert skew_angle(np.zeros((4, 10, 3), np.uint8)) == 0.0


def test_crop_plate_levels_only_when_asked() -> None:
    scene = np.full((300, 600, 3), 60, np.uint8)
    scene[90:210, 120:480] = plate(10.0)
    det = Detection(BoundingBox(120, 90, 480, 210), 0.9)
    assert abs(skew_angle(crop_plate(scene, det))) > 8
    assert abs(skew_angle(crop_plate(scene, det, level=True))) < 1.5


def test_a_crop_on_its_side_is_also_offered_turned_both_ways() -> None:
    wide = np.zeros((20, 60, 3), np.uint8)
    assert [o.shape for o in orientations(wide)] == [(20, 60, 3)]
    square = np.zeros((40, 40, 3), np.uint8)  # a motorcycle plate: read as it is
    assert len(orientations(square)) == 1
    tall = np.zeros((60, 20, 3), np.uint8)
    tall[-1, 0] = 255  # bottom-left
    cw, ccw, same = orientations(tall)
    assert cw.shape == ccw.shape == (20, 60, 3) and same is tall
    assert cw[0, 0, 0] == 255 and ccw[-1, -1, 0] == 255


def test_a_slanting_crop_on_its_side_is_also_offered_turned_and_levelled() -> None:
    # A plate turned 70 degrees in its tall box (as val tunisia/320): a quarter turn leaves 20 of slant.
    tall = cv2.rotate(plate(20.0), cv2.ROTATE_90_COUNTERCLOCKWISE)
    views = orientations(tall)
    assert len(views) == 5 and views[-1] is tall
    cw, ccw, level_cw, level_ccw = views[:4]
    assert abs(skew_angle(cw)) > 8 and abs(skew_angle(ccw)) > 8
    assert abs(skew_angle(level_cw)) < 1.5 and abs(skew_angle(level_ccw)) < 1.5


def test_corners_far_apart_give_a_crop_of_bounded_width() -> None:
    # Corners 10 million px apart and 1 px high used to ask OpenCV for a 122 GB warp.
    image = np.full((100, 200, 3), 128, np.uint8)
    corners = ((0.0, 0.0), (1e7, 0.0), (1e7, 1.0), (0.0, 1.0))
    crop = crop_plate(image, Detection(BoundingBox(0, 0, 200, 1), 0.9, corners))
    assert crop.shape == (64, 64 * 12, 3)
    plate = ((10.0, 10.0), (110.0, 10.0), (110.0, 30.0), (10.0, 30.0))  # a 5:1 plate keeps its shape
    assert crop_plate(image, Detection(BoundingBox(10, 10, 110, 30), 0.9, plate)).shape == (64, 320, 3)
