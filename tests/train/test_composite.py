"""Rendered plates painted into real scenes: only inside the box, fitting shapes, determinism, bad boxes."""

from __future__ import annotations

import numpy as np
import pytest

from numberplate.train.detect.data import PlatePaint, Scene, sample_crop
from numberplate.train.synth import get_layout
from numberplate.train.synth.composite import (
    DARK_LAYOUTS,
    SQUARE_ASPECT,
    SQUARE_LAYOUTS,
    dark_layouts,
    fitting_layouts,
    luma,
    paint_plates,
    square_box,
    swap_plate,
    swap_plates,
    swap_square_plates,
)
from numberplate.train.synth.layouts import LAYOUTS


def _scene(h: int = 240, w: int = 320) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_fitting_layouts_follow_the_box_shape() -> None:
    wide = {la.name for la in fitting_layouts(200, 42)}  # 4.8:1, an EU strip
    square = {la.name for la in fitting_layouts(60, 48)}  # 1.25:1, a motorcycle plate
    assert {"eu_de", "uk", "tn"} <= wide and "us" not in wide and "br_old_moto" not in wide
    assert {"br_old_moto", "moto_eu", "tn_2line"} <= square and "eu_de" not in square
    assert fitting_layouts(0, 10) == () and fitting_layouts(50, 500) == ()


def test_only_the_box_changes_and_the_input_is_left_alone() -> None:
    image = _scene()
    before = image.copy()
    box = np.array([100, 80, 220, 140], np.float32)  # 2:1
    out, painted = swap_plates(np.random.default_rng(1), image, box[None])
    assert painted == 1
    np.testing.assert_array_equal(image, before)
    changed = np.any(out != image, axis=2)
    ys, xs = np.nonzero(changed)
    assert xs.min() >= 100 and xs.max() < 220 and ys.min() >= 80 and ys.max() < 140
    assert changed[85:135, 105:215].mean() > 0.9  # the plate covers the box, bar its rounded corners


def test_same_seed_same_picture_and_other_seeds_differ() -> None:
    image, boxes = _scene(), np.array([[40, 40, 200, 80], [210, 150, 300, 220]], np.float32)
    a, _ = swap_plates(np.random.default_rng(7), image, boxes)
    b, _ = swap_plates(np.random.default_rng(7), image, boxes)
    c, _ = swap_plates(np.random.default_rng(8), image, boxes)
    np.testing.assert_array_equal(a, b)
    assert np.any(a != c)


@pytest.mark.parametrize("box", [[10, 10, 18, 14], [300, 200, 400, 300], [-50, -50, -10, -10], [50, 20, 60, 220]])
def test_tiny_outside_or_unplateable_boxes_are_left_alone(box: list[float]) -> None:
    image = _scene()
    before = image.copy()
    assert not swap_plate(np.random.default_rng(0), image, np.array(box, np.float32))
    np.testing.assert_array_equal(image, before)


def test_a_box_cut_by_the_image_edge_is_painted_inside_the_image_only() -> None:
    image = _scene()
    assert swap_plate(np.random.default_rng(3), image, np.array([200, 200, 400, 240], np.float32),
                      (get_layout("eu_de"),))
    assert image.shape == (240, 320, 3)


def test_probability_zero_returns_the_same_array_and_one_paints_every_plate() -> None:
    image, boxes = _scene(), np.array([[40, 40, 200, 80], [210, 150, 300, 200]], np.float32)
    same, none = swap_plates(np.random.default_rng(0), image, boxes, probability=0.0)
    assert same is image and none == 0
    assert swap_plates(np.random.default_rng(0), image, boxes, probability=1.0)[1] == 2


def test_training_crops_with_swapping_keep_their_labels() -> None:
    image = np.full((400, 600, 3), 90, np.uint8)
    scene = Scene("x.jpg", "test", image, np.array([[250, 180, 370, 220]], np.float32))
    plain = sample_crop(np.random.default_rng(5), scene, 320, 640)
    swapped = sample_crop(np.random.default_rng(5), scene, 320, 640, PlatePaint(1.0))
    assert len(swapped[1]) == len(scene.boxes)
    assert np.any(swapped[0] != plain[0])
    np.testing.assert_array_equal(scene.image, image)  # the shared scene in memory is never painted


def test_square_layouts_are_the_two_line_ones() -> None:
    names = {la.name for la in SQUARE_LAYOUTS}
    assert {"br_old_moto", "moto_eu", "tn_2line", "cn_yellow_2line", "my_2line", "uk_classic_2line"} <= names
    assert all(len(la.lines) == 2 and la.size_mm[0] / la.size_mm[1] <= SQUARE_ASPECT for la in SQUARE_LAYOUTS)
    assert not names & {"eu_de", "uk", "us", "br_old", "my"}


def test_a_square_box_covers_the_plate_has_the_layouts_shape_and_stays_in_the_image() -> None:
    layout = get_layout("moto_eu")
    aspect = layout.size_mm[0] / layout.size_mm[1]
    plate = np.array([100, 100, 200, 125], np.float32)  # 4:1
    for seed in range(20):
        grown = square_box(np.random.default_rng(seed), plate, layout, (240, 320, 3))
        assert grown is not None
        x0, y0, x1, y1 = grown
        assert x0 <= 100 and y0 <= 100 and x1 >= 200 and y1 >= 125
        assert (x1 - x0) / (y1 - y0) == pytest.approx(aspect, rel=1e-4)
        assert (x1 - x0) <= 100 * 1.15 + 1e-3  # no larger than it must be, bar the 0-15% margin
    # Near an edge it moves inside the image and still covers the plate.
    at_edge = square_box(np.random.default_rng(0), np.array([250, 200, 318, 236], np.float32), layout, (240, 320, 3))
    assert at_edge is not None and at_edge[2] <= 320 and at_edge[3] <= 240 and at_edge[0] <= 250 and at_edge[1] <= 200
    # Larger than the image: nowhere to put it.
    assert square_box(np.random.default_rng(0), np.array([0, 0, 300, 60], np.float32), layout, (200, 320, 3)) is None


def test_square_swaps_paint_the_grown_box_and_return_it_as_the_label() -> None:
    image = _scene()
    before = image.copy()
    boxes = np.array([[60, 100, 180, 130], [250, 20, 300, 32]], np.float32)
    out, labels = swap_square_plates(np.random.default_rng(4), image, boxes, probability=1.0)
    np.testing.assert_array_equal(image, before)
    assert labels.shape == (2, 4)
    for old, new in zip(boxes, labels):
        assert new[0] <= old[0] and new[1] <= old[1] and new[2] >= old[2] and new[3] >= old[3]
        assert (new[2] - new[0]) / (new[3] - new[1]) <= SQUARE_ASPECT + 1e-3
        x0, y0, x1, y1 = new.astype(int)
        assert np.any(out[y0:y1, x0:x1] != image[y0:y1, x0:x1])
    changed = np.any(out != image, axis=2)
    grown_mask = np.zeros_like(changed)
    for x0, y0, x1, y1 in labels:
        grown_mask[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] = True
    assert not np.any(changed & ~grown_mask)  # nothing outside the new boxes is touched
    same, kept = swap_square_plates(np.random.default_rng(4), image, boxes, probability=0.0)
    assert same is image
    np.testing.assert_array_equal(kept, boxes)


def test_training_crops_with_square_plates_label_the_grown_box() -> None:
    image = np.full((400, 600, 3), 90, np.uint8)
    scene = Scene("x.jpg", "test", image, np.array([[250, 180, 370, 210]], np.float32))  # 4:1
    plain = sample_crop(np.random.default_rng(5), scene, 320, 640)
    square = sample_crop(np.random.default_rng(5), scene, 320, 640, PlatePaint(1.0, square_share=1.0))
    assert len(plain[1]) == len(square[1]) == 1
    w, h = square[1][0, 2] - square[1][0, 0], square[1][0, 3] - square[1][0, 1]
    assert w / h < 2.2 < 3.5 < (plain[1][0, 2] - plain[1][0, 0]) / (plain[1][0, 3] - plain[1][0, 1])
    np.testing.assert_array_equal(scene.image, image)


def test_paint_plates_returns_the_image_and_its_plate_boxes_for_either_painter() -> None:
    image, boxes = _scene(), np.array([[60, 100, 180, 130]], np.float32)
    same_shape, kept = paint_plates(np.random.default_rng(2), image, boxes)
    assert np.any(same_shape != image)
    np.testing.assert_array_equal(kept, boxes)
    square, grown = paint_plates(np.random.default_rng(2), image, boxes, square=True)
    assert np.any(square != image) and grown[0, 3] - grown[0, 1] > 30
    untouched, none = paint_plates(np.random.default_rng(2), image, boxes, probability=0.0, square=True)
    assert untouched is image
    np.testing.assert_array_equal(none, boxes)


def test_dark_layouts_keep_only_light_on_dark_schemes_of_the_designs_that_have_them() -> None:
    names = {la.name for la in DARK_LAYOUTS}
    assert {"uk_classic", "uk_classic_2line", "my", "sg_2line", "tn", "cn_blue"} <= names
    assert not names & {"eu_de", "uk", "moto_eu", "ru"}  # dark characters on a light plate only
    for la in DARK_LAYOUTS:
        assert la.schemes and all(luma(s.text) - luma(s.background) >= 60 for s in la.schemes)
        assert la.weight == 1.0
    us = next(la for la in LAYOUTS if la.name == "us")
    assert 0 < len(dark_layouts((us,))[0].schemes) < len(us.schemes)
    assert dark_layouts((get_layout("eu_de"),)) == ()


def test_dark_painting_leaves_a_plate_darker_than_its_characters() -> None:
    image = np.full((240, 320, 3), 235, np.uint8)  # a bright scene: a light plate would stay light
    boxes = np.array([[60, 100, 200, 130]], np.float32)
    for square in (False, True):
        painted, out_boxes = paint_plates(np.random.default_rng(8), image, boxes, dark=True, square=square)
        x0, y0, x1, y1 = out_boxes[0].astype(int)
        plate = painted[y0:y1, x0:x1].mean(2)
        assert np.median(plate) < np.percentile(plate, 95) - 40  # mostly dark, with light strokes


def test_plate_paint_draws_nothing_when_off_and_paints_dark_plates_when_asked() -> None:
    image = np.full((400, 600, 3), 235, np.uint8)
    scene = Scene("x.jpg", "test", image, np.array([[250, 180, 370, 210]], np.float32))
    rng = np.random.default_rng(1)
    same, boxes = PlatePaint().apply(rng, scene)
    assert same is scene.image and boxes is scene.boxes
    assert rng.random() == np.random.default_rng(1).random()  # no random number was drawn
    painted = 0
    for seed in range(10):  # each plate is painted with probability SWAP_PER_PLATE
        dark, dark_boxes = PlatePaint(1.0, dark_share=1.0).apply(np.random.default_rng(seed), scene)
        np.testing.assert_array_equal(dark_boxes, scene.boxes)
        plate = dark[180:210, 250:370].mean(2)
        if np.any(plate != 235):
            painted += 1
            assert np.percentile(plate, 95) > np.median(plate) + 40  # a dark plate with light strokes
    assert painted >= 5
    np.testing.assert_array_equal(scene.image, image)
