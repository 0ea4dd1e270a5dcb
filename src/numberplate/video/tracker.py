"""Plate tracks across video frames, and each track's text voted over its frames."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from numberplate.formats.distance import levenshtein
from numberplate.types import BoundingBox, Candidate, PlateRead, PlateText
from numberplate.video.motion import MAX_POINTS, Motion, travel
from numberplate.video.source import Frame

# Characters two texts must differ in, besides those one of them lacks (a plate read in part), to be two plates.
OTHER_PLATE_EDITS = 3


@dataclass(frozen=True)
class PlateEvent:
    """One plate seen over a run of frames: where and when, and its text voted over those frames.

    ``confidence`` is the voted text's mean probability over the frames that read the plate (each
    frame contributes its reading's candidates with their confidences); ``candidates`` ranks the
    other texts the same way. ``best`` is the single most confident frame's read, at ``best_frame``
    (after :func:`numberplate.video.look_up_event`: with the voted text and the vehicle).

    ``direction`` and ``motion`` say how the plate's box moved over its frames (see
    :func:`numberplate.video.motion.travel`): the angle of its centre's motion in degrees (0 = towards the
    right of the picture, 90 = up, counter-clockwise; None when it barely moved), and ``approaching``,
    ``leaving``, ``crossing`` or ``stationary`` (None for a plate seen in one frame).
    """

    text: str | None
    confidence: float
    candidates: tuple[Candidate, ...]
    first_frame: int
    last_frame: int
    first_seen_s: float
    last_seen_s: float
    frames: int
    best: PlateRead
    best_frame: int
    best_image: np.ndarray | None = field(default=None, compare=False, repr=False)  # RGB, with keep_images
    direction: float | None = None
    motion: Motion | None = None

    def as_read(self) -> PlateRead:
        """The best frame's read carrying the voted text, confidence and candidates (e.g. to store it)."""
        best = self.best.text
        if self.text is None or best is None or (best.text == self.text and best.candidates == self.candidates):
            return self.best
        same = best.text == self.text
        voted = PlateText(self.text, self.confidence, best.char_confidences if same else (), self.candidates,
                          best.country, best.pattern_matched if same else None)
        return dataclasses.replace(self.best, text=voted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "candidates": [c.to_dict() for c in self.candidates],
            "first_seen_s": round(self.first_seen_s, 3),
            "last_seen_s": round(self.last_seen_s, 3),
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "frames": self.frames,
            "best_frame": self.best_frame,
            "direction": round(self.direction, 1) % 360.0 if self.direction is not None else None,
            "motion": self.motion,
            "best": self.best.to_dict(),
            "vehicle": self.best.vehicle.to_dict() if self.best.vehicle else None,
            "lookup_error": self.best.lookup_error,
        }


@dataclass
class _Track:
    first: Frame
    last: Frame
    read: PlateRead
    best: PlateRead
    best_frame: int
    best_image: np.ndarray | None = None
    frames: int = 1
    votes: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    voters: int = 0
    # The time and box of every ``stride``-th frame the plate was seen in (for its travel): a plate that stays in
    # view for hours (a parked car on a stream) keeps at most 2 * MAX_POINTS of them, evenly spaced.
    times: list[float] = field(default_factory=list)
    boxes: list[BoundingBox] = field(default_factory=list)
    stride: int = 1

    def __post_init__(self) -> None:
        self.times.append(self.first.time_s)
        self.boxes.append(self.read.detection.box)

    def add(self, frame: Frame, read: PlateRead, keep_image: bool) -> None:
        self.last, self.read = frame, read
        self.frames += 1
        if (self.frames - 1) % self.stride == 0:
            self.times.append(frame.time_s)
            self.boxes.append(read.detection.box)
            if len(self.times) > 2 * MAX_POINTS:  # an odd count: the halves keep the first and the last
                self.times, self.boxes, self.stride = self.times[::2], self.boxes[::2], self.stride * 2
        self.vote(read)
        if _score(read) > _score(self.best):
            self.best, self.best_frame = read, frame.index
            self.best_image = frame.image if keep_image else None

    def vote(self, read: PlateRead) -> None:
        if read.text is None or not read.text.text:
            return
        self.voters += 1
        cands = read.text.candidates or (Candidate(read.text.text, read.text.confidence),)
        for cand in cands:
            self.votes[cand.text] += cand.confidence

    def leader(self) -> str | None:
        return max(self.votes, key=self.votes.__getitem__) if self.votes else None

    def event(self) -> PlateEvent:
        ranked = sorted(self.votes.items(), key=lambda kv: -kv[1])
        voters = max(self.voters, 1)
        candidates = tuple(Candidate(text, min(1.0, score / voters)) for text, score in ranked[:5])
        times, boxes = self.times, self.boxes
        if (self.frames - 1) % self.stride:  # the last frame was not kept: it ends the track all the same
            times, boxes = [*times, self.last.time_s], [*boxes, self.read.detection.box]
        moved = travel(times, boxes)
        return PlateEvent(
            text=candidates[0].text if candidates else None,
            confidence=candidates[0].confidence if candidates else 0.0,
            candidates=candidates,
            first_frame=self.first.index,
            last_frame=self.last.index,
            first_seen_s=self.first.time_s,
            last_seen_s=self.last.time_s,
            frames=self.frames,
            best=self.best,
            best_frame=self.best_frame,
            best_image=self.best_image,
            direction=moved.direction,
            motion=moved.motion,
        )


def _score(read: PlateRead) -> float:
    return read.detection.confidence * (read.text.confidence if read.text else 0.0)


def _other_plate(read: PlateRead, leader: str | None) -> bool:
    """Whether a read's text and a track's leading text are two different plates (see ``OTHER_PLATE_EDITS``)."""
    text = read.text.text if read.text is not None else ""
    if not text or not leader:
        return False
    return levenshtein(text, leader) - abs(len(text) - len(leader)) >= OTHER_PLATE_EDITS


def _centre_gap(a: BoundingBox, b: BoundingBox) -> float:
    """Distance between the centres of two boxes, in pixels."""
    (ax, ay), (bx, by) = a.center, b.center
    return float(np.hypot(ax - bx, ay - by))


class PlateTracker:
    """Links each frame's plate reads to the plates of the frames before, and reports finished plates.

    A read joins the live track whose last box overlaps it most (IoU at least ``min_iou``), unless the
    track was missed in the frame before and the two texts are clearly different plates (the next car
    stopped where the last one stood; within a run of frames a misread never splits a plate); failing
    that, one whose leading text is within one edit of the read's (a plate that moved far between
    two sampled frames): the same text before one an edit away, then the nearest box. A track that has
    not been seen for ``max_gap_s`` seconds is finished and reported if it was seen in at least
    ``min_frames`` frames and read at least once.

    Args:
        min_iou: box overlap that links a read to a track.
        max_gap_s: seconds a plate may go unseen (occlusion, a missed detection) and stay one track.
        min_frames: frames a plate must be seen in to be reported (1 reports single-frame plates).
        keep_images: hand each event its best frame (``best_image``), e.g. to store it; costs one
            frame of memory per plate in view.

    Raises:
        ValueError: a setting is out of range.
    """

    def __init__(self, min_iou: float = 0.2, max_gap_s: float = 1.0, min_frames: int = 2, keep_images: bool = False):
        if not 0.0 < min_iou <= 1.0 or max_gap_s < 0 or min_frames < 1:
            raise ValueError(f"tracker settings out of range: min_iou={min_iou} (0-1], max_gap_s={max_gap_s} "
                             f"(>= 0), min_frames={min_frames} (>= 1)")
        self.min_iou = min_iou
        self.max_gap_s = max_gap_s
        self.min_frames = min_frames
        self.keep_images = keep_images
        self._live: list[_Track] = []
        self._previous: int | None = None  # index of the frame before
        self.frames = 0  # frames passed to update() so far

    def update(self, frame: Frame, reads: Sequence[PlateRead]) -> list[PlateEvent]:
        """Add one frame's reads (pass every frame, those without reads too); return the plates finished before it."""
        self.frames += 1
        finished = [t for t in self._live if frame.time_s - t.last.time_s > self.max_gap_s]
        self._live = [t for t in self._live if t not in finished]
        unmatched = list(range(len(reads)))
        pairs = sorted(
            ((t.read.detection.box.iou(reads[i].detection.box), ti, i)
             for ti, t in enumerate(self._live) for i in unmatched),
            reverse=True,
        )
        taken: set[int] = set()
        for iou, ti, i in pairs:
            if iou < self.min_iou:
                break
            if ti in taken or i not in unmatched:
                continue
            track = self._live[ti]
            if track.last.index != self._previous and _other_plate(reads[i], track.leader()):
                continue
            track.add(frame, reads[i], self.keep_images)
            taken.add(ti)
            unmatched.remove(i)
        # Reads whose box overlaps no track join a track by text: the same text before one an edit away, then the
        # nearer box (the first track within one edit took it before: two cars whose plates differ by a character
        # swapped tracks when both moved).
        by_text = []
        for i in unmatched:
            plate = reads[i].text
            text = plate.text if plate is not None else ""
            for ti, track in enumerate(self._live):
                leader = track.leader()
                if ti not in taken and text and leader and (edits := levenshtein(text, leader, 1)) <= 1:
                    by_text.append((edits, _centre_gap(track.read.detection.box, reads[i].detection.box), ti, i))
        for _, _, ti, i in sorted(by_text):
            if ti in taken or i not in unmatched:
                continue
            self._live[ti].add(frame, reads[i], self.keep_images)
            taken.add(ti)
            unmatched.remove(i)
        for i in unmatched:
            track = _Track(frame, frame, reads[i], reads[i], frame.index, frame.image if self.keep_images else None)
            track.vote(reads[i])
            self._live.append(track)
        self._previous = frame.index
        return self._report(finished)

    def flush(self) -> list[PlateEvent]:
        """Finish every live track (end of the video); return the plates worth reporting."""
        finished, self._live = self._live, []
        return self._report(finished)

    def _report(self, tracks: list[_Track]) -> list[PlateEvent]:
        keep = [t for t in tracks if t.frames >= self.min_frames and t.votes]
        return [t.event() for t in sorted(keep, key=lambda t: t.first.index)]
