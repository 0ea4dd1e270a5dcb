"""Video: opening sources, sampling frames, tracking plates over frames, voting, the CLI, bad inputs."""

from __future__ import annotations

import functools
import http.server
import itertools
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from numberplate.cli import main
from numberplate.config import Config
from numberplate.errors import VideoError
from numberplate.imaging import load_image
from numberplate.pipeline import Reader
from numberplate.types import BoundingBox, Candidate, Detection, PlateRead, PlateText
from numberplate.video import Frame, PlateTracker, VideoSource, read_video
from numberplate.video.source import describe
from tests.video.clips import empty, passing_car, with_frame_durations, with_rotation, write_clip, write_mp4


@pytest.fixture(scope="module")
def photo(data_dir: Path) -> np.ndarray:
    return load_image(data_dir / "detect" / "images" / "openlpr" / "10.jpg")  # a car with plate CV58VP


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(config=Config(ocr="plateocr"))


@pytest.fixture(scope="module")
def two_passes(tmp_path_factory: pytest.TempPathFactory, photo: np.ndarray) -> Path:
    # The car for 1 s, 1.5 s of empty road, the car again for 1 s; 10 fps.
    path = tmp_path_factory.mktemp("video") / "two_passes.avi"
    return write_clip(path, passing_car(photo, 10) + empty(15) + passing_car(photo, 10, shift=30))


def test_source_reports_geometry_and_samples_at_the_asked_rate(two_passes: Path) -> None:
    with VideoSource(two_passes, max_fps=5) as video:
        assert (video.width, video.height, video.fps, video.frame_count) == (640, 360, 10.0, 35)
        assert video.duration_s == pytest.approx(3.5)
        frames = list(video.frames())
    assert [f.index for f in frames] == list(range(0, 35, 2))
    assert frames[1].time_s == pytest.approx(0.2)
    assert frames[0].image.shape == (360, 640, 3) and frames[0].image.dtype == np.uint8
    with VideoSource(two_passes, max_fps=None) as video:
        assert len(list(video.frames())) == 35


def test_a_variable_frame_rate_file_gives_each_frame_its_own_time(tmp_path: Path) -> None:
    # A phone in low light: 0.5 s at 20 fps, then 1.5 s at 6.7 fps; the header states 10 fps.
    durations = [0.05] * 10 + [0.15] * 10
    clip = with_frame_durations(write_mp4(tmp_path / "vfr.mp4", empty(20)), durations)
    starts = [round(sum(durations[:i]), 2) for i in range(20)]
    with VideoSource(clip, max_fps=None) as video:
        assert [round(f.time_s, 2) for f in video.frames()] == starts
    # Sampled by time, not by frame count: 5 frames a second in both parts (it was 10, then 3.3).
    with VideoSource(clip, max_fps=5) as video:
        frames = list(video.frames())
    assert [round(f.time_s, 2) for f in frames] == [0.0, 0.2, 0.4, 0.65, 0.8, 1.1, 1.25, 1.4, 1.7, 1.85]
    assert all(f.time_s == pytest.approx(starts[f.index]) for f in frames)


def test_a_frame_rate_under_one_is_believed(tmp_path: Path) -> None:
    # A recorder keeping one frame every 2 s was taken to run at 25 fps: 8 s of video read as 0.16 s.
    clip = write_clip(tmp_path / "dvr.avi", empty(4), fps=0.5)
    with VideoSource(clip, max_fps=5) as video:
        assert (video.fps, video.duration_s) == (0.5, 8.0)
        assert [f.time_s for f in video.frames()] == [0.0, 2.0, 4.0, 6.0]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_a_video_file_behind_a_url_is_read_once_not_over_and_over(tmp_path: Path) -> None:
    write_clip(tmp_path / "clip.avi", empty(10))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=tmp_path))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # It was taken for a live stream: at its end "reconnected" and read from the start again, endlessly.
        video = VideoSource(f"http://127.0.0.1:{server.server_port}/clip.avi", max_fps=None, max_seconds=3)
        frames = list(video.frames())
    finally:
        server.shutdown()
        server.server_close()
    assert not video.is_live and video.reconnects == 0 and video.duration_s == 1.0
    assert [f.index for f in frames] == list(range(10)) and frames[-1].time_s == pytest.approx(0.9)


@pytest.mark.parametrize("degrees", [90, 270])
def test_a_phone_video_is_read_upright(tmp_path: Path, photo: np.ndarray, reader: Reader, degrees: int) -> None:
    # Stored sideways with a display matrix (rotate=90), as phones held upright record.
    sideways = [np.rot90(f, k=degrees // 90).copy() for f in passing_car(photo, 3)]  # rot90 turns anticlockwise
    clip = with_rotation(write_mp4(tmp_path / "phone.mp4", sideways), degrees)
    with VideoSource(clip, max_fps=None) as video:
        assert (video.width, video.height) == (640, 360)
        frames = list(video.frames())
    assert frames[0].image.shape == (360, 640, 3)
    (event,) = read_video(reader, clip, fps=None)
    box = event.best.detection.box
    assert event.text == "CV58VP" and 0 <= box.xmin < box.xmax <= 640 and 0 <= box.ymin < box.ymax <= 360


def test_each_pass_of_the_car_is_one_plate_with_its_voted_text(reader: Reader, two_passes: Path) -> None:
    events = list(read_video(reader, two_passes, fps=None))
    assert [e.text for e in events] == ["CV58VP", "CV58VP"]
    first, second = events
    assert (first.first_frame, first.last_frame, first.frames) == (0, 9, 10)
    assert (first.first_seen_s, first.last_seen_s) == (0.0, pytest.approx(0.9))
    assert second.first_seen_s == pytest.approx(2.5)
    assert 0.5 < first.confidence <= 1.0
    assert first.candidates[0] == Candidate("CV58VP", first.confidence)
    assert first.best.text is not None and first.best.text.text == "CV58VP"
    assert first.best_frame in range(10)
    record = first.to_dict()
    assert record["text"] == "CV58VP" and record["frames"] == 10 and record["best"]["box"]
    json.dumps(record)


def test_max_seconds_stops_a_stream_early(reader: Reader, two_passes: Path) -> None:
    events = list(read_video(reader, two_passes, fps=None, max_seconds=2.0))
    assert [e.first_seen_s for e in events] == [0.0]


def read_at(x: float, text: str, confidence: float = 0.9, candidates: tuple[Candidate, ...] = ()) -> PlateRead:
    box = BoundingBox(x, 100, x + 80, 120)
    return PlateRead(Detection(box, 0.9), PlateText(text, confidence, candidates=candidates or
                                                    (Candidate(text, confidence),)))


def frame(i: int, fps: float = 10.0) -> Frame:
    return Frame(i, i / fps, np.zeros((1, 1, 3), np.uint8))


def test_votes_over_frames_outweigh_a_single_misread() -> None:
    tracker = PlateTracker(min_frames=1)
    texts = ["AB12CDE", "AB12CDE", "A812CDE", "AB12CDE"]
    for i, text in enumerate(texts):
        assert tracker.update(frame(i), [read_at(10 + 2 * i, text)]) == []
    (event,) = tracker.flush()
    assert event.text == "AB12CDE"
    assert event.confidence == pytest.approx(0.9 * 3 / 4)
    assert [c.text for c in event.candidates] == ["AB12CDE", "A812CDE"]


def test_a_plate_that_jumps_far_is_linked_by_its_text_and_two_plates_stay_apart() -> None:
    tracker = PlateTracker(min_frames=2)
    tracker.update(frame(0), [read_at(10, "AB12CDE"), read_at(400, "XY34ZZZ")])
    # Sampled sparsely: the first plate moved 200 px (no overlap) and reads with one character off.
    tracker.update(frame(1), [read_at(210, "AB12CDF"), read_at(402, "XY34ZZZ")])
    events = tracker.flush()
    assert sorted((e.text, e.frames) for e in events) == [("AB12CDE", 2), ("XY34ZZZ", 2)]


def test_plates_one_character_apart_join_their_own_tracks_when_both_jump() -> None:
    # The first track within one edit took the read: two cars whose plates differ by a character swapped tracks.
    tracker = PlateTracker(min_frames=2)
    tracker.update(frame(0), [read_at(10, "AB12CDE"), read_at(300, "AB12CDF")])
    tracker.update(frame(1), [read_at(600, "AB12CDF"), read_at(900, "AB12CDE")])
    events = tracker.flush()
    assert sorted((e.text, e.frames, e.confidence) for e in events) == [("AB12CDE", 2, pytest.approx(0.9)),
                                                                        ("AB12CDF", 2, pytest.approx(0.9))]


def test_a_new_plate_one_character_off_does_not_take_a_track_from_the_nearer_read() -> None:
    tracker = PlateTracker(min_frames=1)
    tracker.update(frame(0), [read_at(10, "AB12CDE")])
    # Both far from the track's box: the exact text wins over the one-edit text, wherever they are.
    tracker.update(frame(1), [read_at(600, "AB12CDF"), read_at(900, "AB12CDE")])
    (first, second) = sorted(tracker.flush(), key=lambda e: e.first_seen_s)
    assert (first.text, first.frames) == ("AB12CDE", 2) and (second.text, second.frames) == ("AB12CDF", 1)


def test_a_car_stopping_where_another_stood_is_a_plate_of_its_own() -> None:
    # A barrier camera: one car waits and drives off; half a second later the next stops in the same place. They
    # were one plate, the second car's text a losing candidate: a watchlisted second car went unseen.
    tracker = PlateTracker()
    events = []
    for i in range(25):
        reads = [read_at(10, "AB12CDE")] if i < 10 else [read_at(14, "XY98ZZZ")] if i >= 15 else []
        events += tracker.update(frame(i), reads)
    events += tracker.flush()
    assert [(e.text, e.frames, e.first_seen_s) for e in events] == [("AB12CDE", 10, 0.0), ("XY98ZZZ", 10, 1.5)]
    # The same plate, back after a gap: read in part, or with two characters wrong, it is still the one plate ...
    tracker = PlateTracker(min_frames=1)
    texts = {0: "AB12CDE", 3: "AB12", 6: "A812C0E", 9: "AB12CDE"}
    for i in range(10):
        tracker.update(frame(i), [read_at(10, texts[i])] if i in texts else [])
    assert [(e.text, e.frames) for e in tracker.flush()] == [("AB12CDE", 4)]
    # ... and a misread from one frame to the next never splits it.
    tracker = PlateTracker(min_frames=1)
    for i, text in enumerate(["AB12CDE", "XY98ZZZ", "AB12CDE"]):
        tracker.update(frame(i), [read_at(10, text)])
    assert [(e.text, e.frames) for e in tracker.flush()] == [("AB12CDE", 3)]


def test_plates_finish_after_the_gap_and_single_frame_flukes_are_dropped() -> None:
    tracker = PlateTracker(max_gap_s=0.5, min_frames=2)
    tracker.update(frame(0), [read_at(10, "AB12CDE"), read_at(300, "FLUKE")])
    tracker.update(frame(1), [read_at(12, "AB12CDE")])
    # 0.5 s later nothing has been seen for longer than the gap: the plate is reported, the fluke is not.
    events = tracker.update(frame(7), [])
    assert [e.text for e in events] == ["AB12CDE"]
    assert tracker.flush() == []


def test_unread_plates_are_not_reported() -> None:
    tracker = PlateTracker(min_frames=1)
    tracker.update(frame(0), [PlateRead(Detection(BoundingBox(0, 0, 50, 20), 0.8), None)])
    assert tracker.flush() == []


@pytest.mark.parametrize("kwargs", [{"min_iou": 0.0}, {"max_gap_s": -1.0}, {"min_frames": 0}])
def test_tracker_settings_out_of_range(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="tracker settings out of range"):
        PlateTracker(**kwargs)


def test_a_missing_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=r"video file .*nope\.mp4 does not exist"):
        VideoSource(tmp_path / "nope.mp4")


def test_a_file_that_is_not_a_video_is_a_video_error(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoError, match=r"notes\.mp4"):
        list(VideoSource(fake).frames())


def test_a_truncated_video_keeps_the_frames_before_the_damage(tmp_path: Path, photo: np.ndarray) -> None:
    whole = write_clip(tmp_path / "whole.avi", passing_car(photo, 20))
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    video = VideoSource(cut, max_fps=None)
    assert video.frame_count == 20  # the header still promises 20
    frames = list(video.frames())
    assert 5 < len(frames) < 20
    np.testing.assert_array_equal(frames[0].image.shape, (360, 640, 3))
    # ... and says where the file ends, instead of ending as if it were whole.
    assert video.warnings == [f"{cut}: video ended at frame {len(frames)} of 20: the file is damaged after "
                              f"00:0{len(frames) / 10:.1f}"]


def damaged(clip: Path, out: Path, start: float, length: float) -> Path:
    """``clip`` with the bytes from ``start`` for ``length`` (fractions of its size) overwritten by noise."""
    data = bytearray(clip.read_bytes())
    a, n = int(len(data) * start), int(len(data) * length)
    data[a:a + n] = np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8).tobytes()
    out.write_bytes(bytes(data))
    return out


def test_a_video_damaged_in_the_middle_is_read_on_past_the_damage(tmp_path: Path, photo: np.ndarray) -> None:
    whole = write_clip(tmp_path / "whole.avi", passing_car(photo, 40))
    video = VideoSource(damaged(whole, tmp_path / "mid.avi", 1 / 3, 1 / 9), max_fps=None)
    indices = [f.index for f in video.frames()]
    # Reading stopped at the damage (frame 13) before; now the frames after it are read too.
    assert indices[:13] == list(range(13)) and indices[-1] >= 38 and len(indices) >= 35
    assert video.warnings and all("the file is damaged at" in w and "read on past the damage" in w
                                  for w in video.warnings)


def test_the_cli_warns_on_stderr_where_a_damaged_file_ends(tmp_path: Path, photo: np.ndarray) -> None:
    whole = write_clip(tmp_path / "whole.avi", passing_car(photo, 40))
    tail = damaged(whole, tmp_path / "tail.avi", 0.5, 0.5)
    result = CliRunner().invoke(main, ["video", str(tail), "--fps", "2", "--ocr", "plateocr"])
    assert result.exit_code == 0, result.output  # the plates before the damage are real: documented in --help
    assert f"warning: {tail}: video ended at frame 20 of 40: the file is damaged after 00:02.0\n" in result.stderr
    assert "warning" not in result.stdout


def test_a_file_named_like_a_camera_index_is_read_as_the_file(tmp_path: Path, photo: np.ndarray,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write_clip(tmp_path / "2024.avi", passing_car(photo, 4)).rename(tmp_path / "2024")
    monkeypatch.chdir(tmp_path)
    with VideoSource("2024", max_fps=None) as video:
        assert not video.is_live and video.frame_count == 4


def test_the_cli_warns_when_a_clip_is_too_short_for_min_frames(tmp_path: Path, photo: np.ndarray) -> None:
    clip = write_clip(tmp_path / "one.avi", passing_car(photo, 1))
    result = CliRunner().invoke(main, ["video", str(clip), "--ocr", "plateocr"])
    assert result.exit_code == 0, result.output
    assert "warning: only 1 frame(s) read" in result.stderr and "--min-frames 1" in result.stderr
    result = CliRunner().invoke(main, ["video", str(clip), "--ocr", "plateocr", "--min-frames", "1"])
    assert "warning" not in result.stderr and "1 plate(s)" in result.stderr


def test_an_absent_camera_or_unreachable_stream_is_a_video_error() -> None:
    with pytest.raises(VideoError, match="cannot open stream or camera camera 97"):
        VideoSource(97)
    with pytest.raises(VideoError, match="cannot open stream or camera /dev/video97"):
        VideoSource("/dev/video97")


@pytest.mark.parametrize("fps", [0.0, -5.0, float("nan"), float("inf")])
def test_a_bad_frame_rate_is_refused(two_passes: Path, fps: float) -> None:
    with pytest.raises(ValueError, match="max_fps"):
        VideoSource(two_passes, max_fps=fps)


def test_stream_credentials_never_appear_in_messages() -> None:
    assert describe("rtsp://admin:secret@10.0.0.5:554/stream1") == "rtsp://***@10.0.0.5:554/stream1"
    assert describe("rtsp://10.0.0.5/stream1") == "rtsp://10.0.0.5/stream1"
    assert describe(0) == describe("0") == "camera 0"
    assert describe("rtsp://admin:p@ss@cam.local/live") == "rtsp://***@cam.local/live"
    assert describe("http://user:pw@10.0.0.9:8080/video?x=a@b") == "http://***@10.0.0.9:8080/video?x=a@b"


def test_cli_prints_one_line_per_plate_and_json_lines(two_passes: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["video", str(two_passes), "--fps", "10", "--ocr", "plateocr"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 2 and all("CV58VP" in line for line in lines)
    assert lines[1].startswith("00:02.5-00:03.4")
    result = runner.invoke(main, ["video", str(two_passes), "--json", "--all-frames", "--ocr", "plateocr"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == ["CV58VP", "CV58VP"] and records[0]["frames"] == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["video", "missing.mp4"], "does not exist"),
        (["video", "{clip}", "--fps", "0"], "Invalid value for '--fps'"),
        (["video", "{clip}", "--fps", "nan"], "Invalid value for '--fps': 'nan' is not a number"),
        (["video", "{clip}", "--max-gap", "nan"], "Invalid value for '--max-gap': 'nan' is not a number"),
        (["video", "{clip}", "--country", "zz"], "config 'country': unknown country code 'zz'"),
        (["video", "{folder}"], "is a folder, not a video file: name one video file, stream or camera"),
        (["video", "{clip}", "--store", "--camera-id", "bad<id>"],
         "Invalid value for '--camera-id': camera id 'bad<id>': must be 1-128 letters, digits, spaces or _ . : @ / -"),
        (["video", "{clip}", "--store", "--camera-id", "x" * 129], "Invalid value for '--camera-id': camera id"),
        (["video", "{clip}", "--min-frames", "0"], "Invalid value for '--min-frames'"),
        (["video", "{clip}", "--max-seconds", "-1"], "Invalid value for '--max-seconds'"),
        (["video", "{clip}", "--ocr", "nope"], "unknown OCR backend"),
    ],
)
def test_cli_bad_input_exits_with_a_message(two_passes: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, [a.format(clip=two_passes, folder=two_passes.parent) for a in args])
    assert result.exit_code != 0
    assert message in result.output


def test_cli_store_keeps_each_plate_in_the_history(two_passes: Path, tmp_path: Path) -> None:
    from numberplate.config import load_config
    from numberplate.store.cli import open_read_store
    from numberplate.store.reads import ReadQuery

    config_file = tmp_path / "numberplate.toml"
    config_file.write_text(f'instance_path = "{tmp_path / "instance"}"\nocr = "plateocr"\n')
    result = CliRunner().invoke(main, ["video", str(two_passes), "--fps", "5", "--store", "--camera-id", "gate",
                                       "--json", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == ["CV58VP", "CV58VP"] and all(r["read_id"] for r in records)
    page = open_read_store(load_config(config_file)).search(ReadQuery(plate="CV58VP"))
    assert page.total == 2
    stored = page.items[0]
    assert (stored.source, stored.camera_id, stored.filename) == ("video", "gate", "two_passes.avi")
    assert stored.image_sha256 and stored.plates[0].crop_sha256


class FakeStream:
    """A camera stream that delivers ``frames`` frames, then drops (or fails to open when ``frames`` is None)."""

    def __init__(self, frames: int | None):
        self.left = frames

    def isOpened(self) -> bool:
        return self.left is not None

    def get(self, prop: int) -> float:
        return {5: 25.0, 3: 64.0, 4: 48.0}.get(prop, 0.0)  # CAP_PROP_FPS, _FRAME_WIDTH, _FRAME_HEIGHT

    def grab(self) -> bool:
        if not self.left:
            return False
        self.left -= 1
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        return True, np.zeros((48, 64, 3), np.uint8)

    def set(self, prop: int, value: float) -> bool:
        return False  # a stream cannot seek

    def release(self) -> None:
        self.left = 0


def test_a_dropped_stream_is_reopened_with_growing_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    # Opens with 3 frames, drops; two failed reopen attempts; then 2 frames; then drops for good.
    streams = iter([FakeStream(3), FakeStream(None), FakeStream(None), FakeStream(2)])
    pauses: list[float] = []
    monkeypatch.setattr("numberplate.video.source.time.sleep", pauses.append)

    def capture(target: str | int) -> FakeStream:
        stream = next(streams, None)
        if stream is None:
            raise KeyboardInterrupt  # the test's way to stop the endless retrying after the last stream
        return stream

    video = VideoSource("rtsp://cam.local/stream1", max_fps=None, capture=capture)
    assert video.is_live and video.reconnect and (video.width, video.height, video.fps) == (64, 48, 25.0)
    got = []
    with pytest.raises(KeyboardInterrupt):
        for frame in video.frames():
            got.append(frame)
    assert len(got) == 5 and video.reconnects == 1
    assert pauses[:3] == [1.0, 2.0, 4.0]
    assert all(b.time_s >= a.time_s for a, b in itertools.pairwise(got))  # wall-clock time for live sources


def test_files_are_never_reopened_and_live_sampling_follows_the_clock(two_passes: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    video = VideoSource(two_passes, max_fps=None)
    assert not video.reconnect
    camera = FakeStream(50)
    # A 25 fps camera: the clock moves 40 ms with every frame it delivers.
    monkeypatch.setattr("numberplate.video.source.time.monotonic", lambda: (50 - (camera.left or 0)) * 0.04)
    stream = VideoSource(0, max_fps=5, reconnect=False, capture=lambda target: camera)
    frames = list(stream.frames())
    # 50 frames over 2 s at 25 fps, kept at 5 fps: about 10, spaced 0.2 s apart.
    assert 9 <= len(frames) <= 11
    gaps = [round(b.time_s - a.time_s, 2) for a, b in itertools.pairwise(frames)]
    assert set(gaps) == {0.2}


class FakeClock:
    """A monotonic clock that moves only when slept on (or when a :class:`TimedStream` delivers a frame)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


class TimedStream(FakeStream):
    """A 25 fps :class:`FakeStream` on a :class:`FakeClock`: each frame takes 40 ms to arrive."""

    def __init__(self, frames: int | None, clock: FakeClock):
        super().__init__(frames)
        self.clock = clock

    def grab(self) -> bool:
        got = super().grab()
        self.clock.now += 0.04 if got else 0.0
        return got


def test_max_seconds_ends_a_live_read_while_the_stream_is_being_reopened() -> None:
    clock = FakeClock()
    # 3 s of frames, then the stream is gone for good: every attempt to reopen it fails.
    streams = iter([TimedStream(75, clock)])
    video = VideoSource("http://cam.local/v.mjpg", max_fps=None, max_seconds=8, clock=clock, sleep=clock.sleep,
                        capture=lambda target: next(streams, FakeStream(None)))
    frames = list(video.frames())  # ends (it used to retry forever)
    assert len(frames) == 75 and video.reconnects == 0
    assert clock.sleeps == [1.0, 2.0, pytest.approx(2.0)]  # the last pause is cut to what is left of the 8 s
    assert clock.now == pytest.approx(8.0)


def test_a_stream_without_frames_for_reconnect_give_up_s_is_gone() -> None:
    clock = FakeClock()
    # 1 s of frames; then the camera accepts every other connection but sends nothing on it.
    opened = itertools.count()
    first = TimedStream(25, clock)

    def capture(target: str | int) -> FakeStream:
        n = next(opened)
        return first if n == 0 else FakeStream(0 if n % 2 else None)

    video = VideoSource("rtsp://cam.local/live", max_fps=None, clock=clock, sleep=clock.sleep, capture=capture)
    assert video.reconnect_give_up_s == 300.0
    with pytest.raises(VideoError, match=r"rtsp://cam.local/live has delivered no frame for 300 s, attempts to "
                                         r"reconnect included: the stream is gone; check the camera and the network"):
        list(video.frames())
    assert clock.now == pytest.approx(1.0 + 300.0)  # given up 300 s after the last frame, not later
    # The pauses grow to reconnect_max_s (a connection without frames does not start them over at 1 s).
    assert clock.sleeps[:7] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0] and max(clock.sleeps) == 30.0
    assert video.reconnects > 3
    with pytest.raises(ValueError, match="reconnect_give_up_s"):
        VideoSource("rtsp://cam.local/live", reconnect_give_up_s=0, capture=capture)


def test_cli_documents_and_passes_the_give_up_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    help_text = " ".join(CliRunner().invoke(main, ["video", "--help"]).output.split())
    assert "--give-up-after FLOAT RANGE seconds a stream or camera may deliver no frame" in help_text
    assert "the stream is gone [default: 300.0; x>0]" in help_text
    seen: dict[str, object] = {}

    def fake_read_video(reader: Reader, source: str, **kwargs: object) -> list:
        seen.update(kwargs)
        return []

    monkeypatch.setattr("numberplate.video.read_video", fake_read_video)
    result = CliRunner().invoke(main, ["video", "rtsp://cam.local/live", "--give-up-after", "20",
                                       "--max-seconds", "5", "--ocr", "plateocr"])
    assert result.exit_code == 0, result.output
    assert (seen["reconnect_give_up_s"], seen["max_seconds"]) == (20.0, 5.0)
    result = CliRunner().invoke(main, ["video", "rtsp://cam.local/live", "--give-up-after", "0"])
    assert result.exit_code == 2 and "Invalid value for '--give-up-after'" in result.output


def test_a_stream_that_accepts_but_sends_nothing_does_not_block_for_long(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import threading
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()
    monkeypatch.setattr("numberplate.video.source.STREAM_TIMEOUT_S", 0.5)
    t0 = time.monotonic()
    try:
        with pytest.raises(VideoError, match="cannot open stream or camera"):
            VideoSource(f"http://127.0.0.1:{server.getsockname()[1]}/v.mjpg")
    finally:
        server.close()
        for conn in held:
            conn.close()
    assert time.monotonic() - t0 < 10  # FFmpeg alone waits 30 s


class FakeFile:
    """A video file's capture: ``count`` frames at 10 fps, those in ``damaged`` unreadable. As FFmpeg does on a
    broken stretch, grab() keeps failing there until a seek moves past it."""

    def __init__(self, count: int, damaged: set[int]):
        self.count, self.damaged, self.pos = count, damaged, 0
        self.seeks: list[int] = []

    def isOpened(self) -> bool:
        return True

    def get(self, prop: int) -> float:
        import cv2

        return {cv2.CAP_PROP_FPS: 10.0, cv2.CAP_PROP_FRAME_COUNT: float(self.count), cv2.CAP_PROP_FRAME_WIDTH: 64.0,
                cv2.CAP_PROP_FRAME_HEIGHT: 48.0, cv2.CAP_PROP_POS_FRAMES: float(self.pos)}.get(prop, 0.0)

    def grab(self) -> bool:
        if self.pos >= self.count or self.pos in self.damaged:
            return False
        self.pos += 1
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        return True, np.zeros((48, 64, 3), np.uint8)

    def set(self, prop: int, value: float) -> bool:
        self.seeks.append(int(value))
        self.pos = int(value)
        return True

    def release(self) -> None:
        pass


def test_a_file_is_read_past_damage_by_seeking_and_says_where_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "cam.avi"
    path.write_bytes(b"stand-in")  # the capture is fake; the file only has to exist
    warnings: list[str] = []
    capture = FakeFile(40, {10, 11, 12, *range(30, 40)})
    video = VideoSource(path, max_fps=None, capture=lambda target: capture, on_warning=warnings.append)
    indices = [f.index for f in video.frames()]
    # Seeks 1, 2, then 4 frames on: frame 14 is the first read past the damage.
    assert capture.seeks[:3] == [11, 12, 14]
    assert indices == [*range(10), *range(14, 30)]
    assert warnings == video.warnings == [
        f"{path}: the file is damaged at frames 10-13 (00:01.0-00:01.4); read on past the damage",
        f"{path}: video ended at frame 30 of 40: the file is damaged after 00:03.0",
    ]
    # A whole file, or one a frame short of its stated count, ends without a word.
    for whole in (FakeFile(40, set()), FakeFile(40, {39})):
        quiet = VideoSource(path, max_fps=None, capture=lambda target, c=whole: c)  # type: ignore[misc]
        assert len(list(quiet.frames())) in (39, 40) and quiet.warnings == [] and whole.seeks == []
