"""Direction of travel: each tracked plate's angle of motion and whether it approaches, leaves, crosses or stands."""

from __future__ import annotations

import math

import numpy as np
import pytest

from numberplate.types import BoundingBox, Candidate, Detection, PlateRead, PlateText
from numberplate.video import Frame, PlateTracker
from numberplate.video.motion import GROWTH, MAX_POINTS, MIN_TRAVEL, Travel, travel

FPS = 5.0


def track(centres: list[tuple[float, float]], heights: list[float] | float = 20.0,
          ratio: float = 4.0) -> tuple[list[float], list[BoundingBox]]:
    """Times and boxes of a plate at ``centres`` (pixels, y down), ``heights`` tall and ``ratio`` times as wide."""
    hs = heights if isinstance(heights, list) else [heights] * len(centres)
    boxes = [BoundingBox(x - h * ratio / 2, y - h / 2, x + h * ratio / 2, y + h / 2)
             for (x, y), h in zip(centres, hs, strict=True)]
    return [i / FPS for i in range(len(centres))], boxes


def line(start: tuple[float, float], step: tuple[float, float], n: int = 8) -> list[tuple[float, float]]:
    return [(start[0] + step[0] * i, start[1] + step[1] * i) for i in range(n)]


@pytest.mark.parametrize(("step", "direction"), [
    ((20, 0), 0.0), ((0, -20), 90.0), ((-20, 0), 180.0), ((0, 20), 270.0), ((20, -20), 45.0), ((-15, 15), 225.0),
])
def test_a_plate_crossing_the_picture_has_the_angle_of_its_motion(step: tuple[float, float],
                                                                  direction: float) -> None:
    moved = travel(*track(line((300, 200), step)))
    assert moved.motion == "crossing"
    assert moved.direction == pytest.approx(direction)
    assert moved.travel == pytest.approx(math.hypot(*step) * 7 / 80)  # 7 steps, in widths of 80 px
    assert moved.growth == pytest.approx(1.0)


def test_a_plate_growing_approaches_and_one_shrinking_leaves() -> None:
    heights = [20.0 * 1.1 ** i for i in range(8)]  # x 1.95 over the track
    coming = travel(*track(line((300, 150), (0, 10)), heights))
    assert coming.motion == "approaching" and coming.growth == pytest.approx(1.1 ** 7)
    assert coming.direction == pytest.approx(270.0)  # it comes down the picture, towards the camera
    going = travel(*track(line((300, 220), (0, -10)), heights[::-1]))
    assert going.motion == "leaving" and going.growth == pytest.approx(1.1 ** -7)
    assert going.direction == pytest.approx(90.0)
    # Head-on, without moving across the picture: approaching, no direction.
    straight = travel(*track([(300, 200)] * 8, heights))
    assert (straight.motion, straight.direction) == ("approaching", None)


def test_a_plate_standing_still_has_no_direction_despite_jitter() -> None:
    rng = np.random.default_rng(1)
    centres = [(300 + rng.normal(0, 2), 200 + rng.normal(0, 2)) for _ in range(20)]
    heights = [20 + rng.normal(0, 1) for _ in range(20)]
    still = travel(*track(centres, heights))
    assert still.direction is None and still.motion == "stationary" and still.travel < 0.1


def test_the_thresholds_separate_a_small_move_from_a_real_one() -> None:
    # Widths of 80 px: under MIN_TRAVEL (40 px) is stationary, over it crossing.
    assert travel(*track(line((300, 200), (35 / 7, 0)))).motion == "stationary"
    assert travel(*track(line((300, 200), (45 / 7, 0)))).motion == "crossing"
    assert MIN_TRAVEL == 0.5
    # A growth just under GROWTH is not an approach (it crosses); just over it is.
    below = [20 * (GROWTH * 0.95) ** (i / 7) for i in range(8)]
    above = [20 * (GROWTH * 1.05) ** (i / 7) for i in range(8)]
    assert travel(*track(line((300, 200), (20, 0)), below)).motion == "crossing"
    assert travel(*track(line((300, 200), (20, 0)), above)).motion == "approaching"
    assert travel(*track(line((300, 200), (20, 0)), [1 / h * 400 for h in above])).motion == "leaving"


def test_one_noisy_frame_does_not_change_the_verdict() -> None:
    # A box found far off once (another object, a reflection) and one found at a quarter of its size.
    centres = line((100, 200), (40, 0))
    centres[4] = (600, 40)
    right = travel(*track(centres))
    assert right.motion == "crossing" and right.direction == pytest.approx(0.0, abs=1.0)
    still = [(300.0, 200.0)] * 8
    still[5] = (60.0, 330.0)
    assert travel(*track(still)).motion == "stationary"
    assert travel(*track(still)).direction is None
    heights = [20.0] * 8
    heights[0] = 5.0  # the first frame, a plate half out of the picture: a least-squares fit would call it approaching
    assert travel(*track([(300, 200)] * 8, heights)).motion == "stationary"
    growing = [20.0 * 1.1 ** i for i in range(8)]
    growing[6] = 8.0
    assert travel(*track([(300, 200)] * 8, growing)).motion == "approaching"


def test_a_car_that_drives_up_and_then_waits_at_the_gate_approached() -> None:
    # 2 s towards the camera (its plate twice as tall, 180 px down the picture), then 6 s standing at the barrier:
    # most pairs of frames are both standing, so the Theil-Sen slopes alone are 0.
    heights = [20.0 * 2 ** (i / 9) for i in range(10)] + [40.0] * 30
    centres = line((300, 150), (0, 20), 10) + [(300.0, 330.0)] * 30
    waited = travel(*track(centres, heights))
    assert waited.motion == "approaching" and 1.6 < waited.growth <= 2.0
    assert waited.direction == pytest.approx(270.0)
    # ... and one that stood, then drove off: it left.
    left = travel(*track(centres[::-1], heights[::-1]))
    assert left.motion == "leaving" and left.direction == pytest.approx(90.0)
    # A car that stood long and moved a little (under MIN_TRAVEL, under GROWTH) still stands.
    nudged = travel(*track([(300.0, 200.0)] * 30 + line((300, 200), (3, 0), 5), [20.0] * 30 + [22.0] * 5))
    assert (nudged.motion, nudged.direction) == ("stationary", None)


def test_a_plate_seen_once_has_no_motion() -> None:
    assert travel(*track([(300, 200)])) == Travel(None, None)
    with pytest.raises(ValueError, match="2 boxes for 1 times"):
        travel([0.0], track([(1, 1), (2, 2)])[1])


def test_a_long_track_is_fitted_on_a_sample_of_its_boxes() -> None:
    times, boxes = track(line((0, 200), (1, 0), 5000), 20.0)
    moved = travel(times, boxes)
    assert moved.motion == "crossing" and moved.direction == pytest.approx(0.0)
    assert moved.travel == pytest.approx(4999 / 80)


# Through the tracker: each event carries its direction and motion, in to_dict too.


def read_at(box: BoundingBox, text: str = "AB12CDE") -> PlateRead:
    return PlateRead(Detection(box, 0.9), PlateText(text, 0.9, candidates=(Candidate(text, 0.9),)))


def test_tracked_plates_carry_their_direction_and_motion() -> None:
    tracker = PlateTracker(min_frames=1)
    image = np.zeros((360, 640, 3), np.uint8)
    events = []
    times, lefts = track(line((500, 100), (-25, 0)))
    _, growing = track(line((300, 150), (0, 15)), [20.0 * 1.15 ** i for i in range(8)])
    for i, (t, a, b) in enumerate(zip(times, lefts, growing, strict=True)):
        events += tracker.update(Frame(i, t, image), [read_at(a, "LEFT1"), read_at(b, "NEAR2")])
    events += tracker.update(Frame(8, 8 / FPS, image), [read_at(BoundingBox(10, 300, 50, 310), "ONCE3")])
    events += tracker.flush()
    by_text = {e.text: e for e in events}
    assert by_text["LEFT1"].motion == "crossing" and by_text["LEFT1"].direction == pytest.approx(180.0)
    assert by_text["NEAR2"].motion == "approaching" and by_text["NEAR2"].direction == pytest.approx(270.0)
    assert (by_text["ONCE3"].motion, by_text["ONCE3"].direction) == (None, None)
    record = by_text["LEFT1"].to_dict()
    assert (record["direction"], record["motion"]) == (180.0, "crossing")
    assert by_text["ONCE3"].to_dict()["direction"] is None


def test_a_direction_just_under_a_full_turn_is_written_below_360() -> None:
    tracker = PlateTracker(min_frames=1)
    image = np.zeros((360, 640, 3), np.uint8)
    for i in range(8):  # right, and down by a hair: 359.99 degrees
        x, y = 100 + 30 * i, 200 + 0.001 * i
        tracker.update(Frame(i, i / FPS, image), [read_at(BoundingBox(x, y, x + 80, y + 20))])
    (event,) = tracker.flush()
    assert event.direction is not None and event.direction > 359.9
    assert event.to_dict()["direction"] == 0.0


def test_a_plate_in_view_for_hours_keeps_a_bounded_sample_of_its_boxes_and_still_its_travel() -> None:
    tracker = PlateTracker(min_frames=1)
    image = np.zeros((2, 2, 3), np.uint8)
    n = 20 * MAX_POINTS + 7  # a long stay, ending between two kept frames
    for i in range(n):  # slowly right across the picture
        x = 100 + 0.1 * i
        tracker.update(Frame(i, i / FPS, image), [read_at(BoundingBox(x, 200, x + 80, 220))])
    (track,) = tracker._live
    assert len(track.times) <= 2 * MAX_POINTS + 1 and len(track.boxes) == len(track.times)
    (event,) = tracker.flush()
    assert event.frames == n and event.motion == "crossing" and event.direction == pytest.approx(0.0)
