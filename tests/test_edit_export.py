"""Editor hand-off: EDLs parsed back, OTIO files read back, CSV rows, at 25, 23.976 and 29.97 drop-frame."""

from __future__ import annotations

import csv
import io
import logging
import re
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from delivery.edit_export import Marker, edl_reel, exact_rate, to_csv, to_edl, to_otio, write_otio

PAL = Fraction(25)
FILM = Fraction(24000, 1001)
NTSC = Fraction(30000, 1001)
SCENES = [(0.0, 1.0), (1.0, 3.0), (3.0, 5.6)]
MARKERS = (Marker(1.6, 2.0, "Focus buzz", note="soft at head", color="GREEN"), Marker(4.0, 4.0, "Boom in shot"))

_TC = r"\d\d:\d\d:\d\d[:;]\d\d"
_EVENT = re.compile(rf"^(\d{{3}})  (\S+)\s+V\s+C\s+({_TC}) ({_TC}) ({_TC}) ({_TC})$")
_LOC = re.compile(rf"^\* LOC: ({_TC}) (\w+)\s+(.*)$")


def parse_edl(text: str) -> dict[str, object]:
    """A small CMX3600 reader: header fields, events (number, reel, 4 timecodes), comments per event."""
    header: dict[str, str] = {}
    events: list[dict[str, object]] = []
    for line in text.splitlines():
        if match := _EVENT.match(line):
            number, reel, *timecodes = match.groups()
            events.append({"number": int(number), "reel": reel, "timecodes": tuple(timecodes), "clip": None,
                           "locs": []})
        elif line.startswith("* FROM CLIP NAME: "):
            events[-1]["clip"] = line.removeprefix("* FROM CLIP NAME: ")
        elif match := _LOC.match(line):
            events[-1]["locs"].append(match.groups())  # type: ignore[union-attr]
        elif ": " in line and not events:
            key, _, value = line.partition(": ")
            header[key] = value
        else:
            assert not line.strip(), f"unexpected EDL line {line!r}"
    return {"header": header, "events": events}


# --------------------------------------------------------------------------- EDL


def test_edl_at_25_fps_from_ten_hours() -> None:
    edl = parse_edl(to_edl("Day 1 selects", "A001C003.mov", "A001C003", SCENES, PAL, "10:00:00:00"))

    assert edl["header"] == {"TITLE": "Day 1 selects", "FCM": "NON-DROP FRAME"}
    assert [e["timecodes"] for e in edl["events"]] == [  # type: ignore[union-attr]
        ("10:00:00:00", "10:00:01:00", "01:00:00:00", "01:00:01:00"),
        ("10:00:01:00", "10:00:03:00", "01:00:01:00", "01:00:03:00"),
        ("10:00:03:00", "10:00:05:15", "01:00:03:00", "01:00:05:15"),
    ]
    assert [(e["number"], e["reel"], e["clip"]) for e in edl["events"]] == [  # type: ignore[union-attr]
        (1, "A001C003", "A001C003.mov"), (2, "A001C003", "A001C003.mov"), (3, "A001C003", "A001C003.mov")]


def test_edl_event_lines_use_the_cmx_columns() -> None:
    text = to_edl("t", "c.mov", "AX", SCENES[:1], PAL, None)

    assert "001  AX       V     C        00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00" in text.splitlines()


def test_edl_markers_are_loc_lines_at_record_timecode() -> None:
    edl = parse_edl(to_edl("t", "c.mov", "R1", SCENES, PAL, "10:00:00:00", markers=MARKERS))

    events = edl["events"]
    assert [e["locs"] for e in events] == [  # type: ignore[union-attr]
        [],
        [("01:00:01:15", "GREEN", "Focus buzz - soft at head")],
        [("01:00:04:00", "RED", "Boom in shot")],
    ]


def test_edl_record_side_runs_on_when_scenes_are_picked_out_of_order() -> None:
    edl = parse_edl(to_edl("t", "c.mov", "R1", [(10.0, 12.0), (2.0, 3.0)], PAL, "00:00:00:00"))

    assert [e["timecodes"] for e in edl["events"]] == [  # type: ignore[union-attr]
        ("00:00:10:00", "00:00:12:00", "01:00:00:00", "01:00:02:00"),
        ("00:00:02:00", "00:00:03:00", "01:00:02:00", "01:00:03:00"),
    ]


def test_edl_at_23_976_counts_24_non_drop_labels_a_second() -> None:
    # 10.01 s and 60.06 s are exactly 240 and 1440 frames at 24000/1001
    edl = parse_edl(to_edl("t", "c.mov", "R1", [(0.0, 10.01), (10.01, 60.06)], FILM, "00:00:00:00"))

    assert edl["header"]["FCM"] == "NON-DROP FRAME"  # type: ignore[index]
    assert [e["timecodes"] for e in edl["events"]] == [  # type: ignore[union-attr]
        ("00:00:00:00", "00:00:10:00", "01:00:00:00", "01:00:10:00"),
        ("00:00:10:00", "00:01:00:00", "01:00:10:00", "01:01:00:00"),
    ]


def test_edl_at_29_97_drop_frame_skips_labels_at_the_minute() -> None:
    edl = parse_edl(to_edl("t", "c.mov", "R1", [(0.0, 2.0), (2.0, 61.0)], NTSC, "00:00:59;00"))

    assert edl["header"]["FCM"] == "DROP FRAME"  # type: ignore[index]
    # source: 00:00:59;00 is frame 1770; +60 = 1830 -> 00:01:01;02 (;00 and ;01 of minute 1 are skipped)
    # 61 s = 1828 frames: source 1770 + 1828 = 3598 -> 00:02:00;02 (minute 2 drops too); record
    # 01:00 is a tenth minute (nothing dropped): 01:00:00;00 + 1828 -> 01:01:01;00
    assert [e["timecodes"] for e in edl["events"]] == [  # type: ignore[union-attr]
        ("00:00:59;00", "00:01:01;02", "01:00:00;00", "01:00:02;00"),
        ("00:01:01;02", "00:02:00;02", "01:00:02;00", "01:01:01;00"),
    ]


def test_drop_frame_labels_agree_with_opentimelineio() -> None:
    scenes = [(0.0, 33.3), (33.3, 601.5), (601.5, 1234.5)]
    edl = parse_edl(to_edl("t", "c.mov", "R1", scenes, NTSC, "00:09:58;10", drop_frame=True))
    timeline = to_otio("t", "c.mov", "R1", scenes, NTSC, "00:09:58;10", drop_frame=True)

    rate = float(NTSC)
    for event, clip in zip(edl["events"], timeline.tracks[0], strict=True):  # type: ignore[arg-type]
        source = clip.source_range
        expected = (otio.opentime.to_timecode(source.start_time, rate, True),
                    otio.opentime.to_timecode(source.end_time_exclusive(), rate, True))
        assert event["timecodes"][:2] == expected


def test_drop_frame_only_at_ntsc_rates() -> None:
    with pytest.raises(ValueError, match="29.97 or 59.94"):
        to_edl("t", "c.mov", "R1", SCENES, PAL, "10:00:00;00")
    with pytest.raises(ValueError, match="29.97 or 59.94"):
        to_edl("t", "c.mov", "R1", SCENES, FILM, None, drop_frame=True)


def test_a_scene_shorter_than_a_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="scene 2"):
        to_edl("t", "c.mov", "R1", [(0.0, 1.0), (1.0, 1.01)], PAL, None)


def test_reels_are_cut_to_eight_safe_characters() -> None:
    assert edl_reel("A001C003") == "A001C003"
    assert edl_reel("A001 C003 extra") == "A001_C00"
    assert edl_reel("  ") == "AX"


def test_float_ntsc_rates_are_snapped_to_exact_fractions() -> None:
    assert exact_rate(23.976) == FILM
    assert exact_rate(29.97) == NTSC
    assert exact_rate(25) == PAL
    assert exact_rate(30) == 30


def test_a_marker_outside_every_scene_is_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="delivery.edit_export"):
        text = to_edl("t", "c.mov", "R1", SCENES, PAL, None, markers=[Marker(9.0, 9.0, "after the end")])

    assert "LOC" not in text
    assert "after the end" in caplog.text


def test_markers_are_checked() -> None:
    with pytest.raises(ValueError, match="colour"):
        Marker(1.0, 2.0, "x", color="CHARTREUSE")
    with pytest.raises(ValueError, match="start <= end"):
        Marker(2.0, 1.0, "x")


# --------------------------------------------------------------------------- OpenTimelineIO


def test_otio_round_trip(tmp_path: Path) -> None:
    timeline = to_otio("Day 1", "A001C003.mov", "A001C003", SCENES, PAL, "10:00:00:00", markers=MARKERS,
                       media_url="file:///media/A001C003.mov")

    path = write_otio(timeline, tmp_path / "day1.otio")
    back = otio.adapters.read_from_file(str(path))

    assert [p.name for p in tmp_path.iterdir()] == ["day1.otio"]
    assert back.name == "Day 1"
    assert back.global_start_time == otio.opentime.RationalTime(90000, 25)  # 01:00:00:00
    (track,) = back.tracks
    clips = list(track.find_clips())
    assert len(clips) == 3
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips] == [
        (900000, 25), (900025, 50), (900075, 65)]  # 10:00:00:00 is frame 900000 at 25 fps
    assert [otio.opentime.to_timecode(c.source_range.start_time, 25) for c in clips] == [
        "10:00:00:00", "10:00:01:00", "10:00:03:00"]
    assert [track.range_of_child_at_index(i).start_time.value for i in range(3)] == [0, 25, 75]
    assert clips[0].media_reference.target_url == "file:///media/A001C003.mov"
    assert clips[1].metadata["cmx_3600"]["reel"] == "A001C003"
    assert [(m.name, m.color, m.comment, m.marked_range.start_time.value, m.marked_range.duration.value)
            for c in clips for m in c.markers] == [
        ("Focus buzz", "GREEN", "soft at head", 900040, 10), ("Boom in shot", "RED", "", 900100, 0)]


def test_otio_without_a_media_url_has_missing_references() -> None:
    timeline = to_otio("t", "c.mov", "R1", SCENES, FILM, None)

    clips = list(timeline.find_clips())
    assert all(isinstance(c.media_reference, otio.schema.MissingReference) for c in clips)
    assert clips[0].source_range.start_time.rate == pytest.approx(23.976, abs=1e-3)


def test_otio_at_29_97_drop_frame_keeps_the_timecode(tmp_path: Path) -> None:
    timeline = to_otio("t", "c.mov", "R1", [(0.0, 2.0)], NTSC, "00:00:59;00")

    back = otio.adapters.read_from_file(str(write_otio(timeline, tmp_path / "ntsc.otio")))

    (clip,) = back.find_clips()
    rate = float(NTSC)
    assert otio.opentime.to_timecode(clip.source_range.start_time, rate, True) == "00:00:59;00"
    assert otio.opentime.to_timecode(back.global_start_time, rate, True) == "01:00:00;00"
    assert back.metadata["rushes"]["drop_frame"] is True


# --------------------------------------------------------------------------- CSV


def test_csv_has_a_row_per_scene_then_per_marker() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv("A001C003.mov", SCENES, PAL, "10:00:00:00", markers=MARKERS))))

    assert [(r["kind"], r["number"], r["tc_in"], r["tc_out"], r["frames"]) for r in rows] == [
        ("scene", "1", "10:00:00:00", "10:00:01:00", "25"),
        ("scene", "2", "10:00:01:00", "10:00:03:00", "50"),
        ("scene", "3", "10:00:03:00", "10:00:05:15", "65"),
        ("marker", "1", "10:00:01:15", "10:00:02:00", "10"),
        ("marker", "2", "10:00:04:00", "10:00:04:00", "0"),
    ]
    assert rows[3]["name"] == "Focus buzz" and rows[3]["note"] == "soft at head" and rows[3]["color"] == "GREEN"
    assert rows[2]["start_s"] == "3.000" and rows[2]["duration_s"] == "2.600"


def test_csv_text_cannot_run_as_a_formula() -> None:
    text = to_csv("c.mov", SCENES, PAL, None, markers=[Marker(0.5, 0.5, "=HYPERLINK(\"x\")", note="+1")])

    (marker,) = [r for r in csv.DictReader(io.StringIO(text)) if r["kind"] == "marker"]
    assert marker["name"] == "'=HYPERLINK(\"x\")" and marker["note"] == "'+1"
