from __future__ import annotations

from fractions import Fraction

import pytest

from rushes.timecode import (
    Timecode,
    frames_to_timecode,
    is_drop_frame_rate,
    nominal_rate,
    parse_timecode,
    seconds_to_timecode,
    timecode_to_frames,
)

NTSC = Fraction(30000, 1001)
NTSC_60 = Fraction(60000, 1001)
FILM = Fraction(24000, 1001)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01:02:03:04", Timecode(1, 2, 3, 4, False)),
        ("00:59:49;00", Timecode(0, 59, 49, 0, True)),
        ("00:01:00.02", Timecode(0, 1, 0, 2, True)),
        (" 23:59:59:23 ", Timecode(23, 59, 59, 23, False)),
    ],
)
def test_parse_timecode_reads_fields_and_drop_frame_separator(text: str, expected: Timecode) -> None:
    assert parse_timecode(text) == expected
    assert tuple(parse_timecode(text)) == tuple(expected)


@pytest.mark.parametrize("text", ["", "1:2:3", "01:02:03", "aa:bb:cc:dd", "00:60:00:00", "00:00:61:00"])
def test_parse_timecode_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="not a timecode"):
        parse_timecode(text)


def test_timecode_str_is_canonical() -> None:
    assert str(parse_timecode("1:02:03.04")) == "01:02:03;04"


@pytest.mark.parametrize(
    ("rate", "nominal", "drop"),
    [
        (FILM, 24, False),
        (24, 24, False),
        (25, 25, False),
        (NTSC, 30, True),
        (30, 30, False),
        (Fraction(2997, 100), 30, True),
        (NTSC_60, 60, True),
        (60, 60, False),
        (Fraction(50), 50, False),
    ],
)
def test_nominal_rate_and_drop_frame_rates(rate: Fraction | int, nominal: int, drop: bool) -> None:
    assert nominal_rate(rate) == nominal
    assert is_drop_frame_rate(rate) is drop


@pytest.mark.parametrize(
    ("tc", "rate", "frames"),
    [
        ("00:10:00;00", NTSC, 17982),
        ("00:01:00;02", NTSC, 1800),
        ("00:00:59;29", NTSC, 1799),
        ("01:00:00;00", NTSC, 107892),
        ("00:01:00;04", NTSC_60, 3600),
        ("00:10:00;00", NTSC_60, 35964),
        ("01:00:00:00", 25, 90000),
        ("00:58:40:00", FILM, 84480),
        ("00:58:40:00", 24, 84480),
        ("00:00:00:00", NTSC, 0),
    ],
)
def test_known_timecode_frame_pairs(tc: str, rate: Fraction | int, frames: int) -> None:
    assert timecode_to_frames(tc, rate) == frames
    assert frames_to_timecode(frames, rate, drop_frame=";" in tc) == tc


def test_drop_frame_can_be_forced_on_a_colon_label() -> None:
    assert timecode_to_frames("00:10:00:00", NTSC, drop_frame=True) == 17982
    assert timecode_to_frames("00:10:00;00", NTSC, drop_frame=False) == 18000


def test_dropped_labels_do_not_exist() -> None:
    with pytest.raises(ValueError, match="does not exist in drop-frame"):
        timecode_to_frames("00:01:00;00", NTSC)
    assert timecode_to_frames("00:10:00;00", NTSC) == 17982  # every tenth minute keeps 00 and 01


def test_frames_beyond_the_rate_are_rejected() -> None:
    with pytest.raises(ValueError, match="frame 25"):
        timecode_to_frames("00:00:00:25", 25)


def test_drop_frame_needs_an_ntsc_family_rate() -> None:
    with pytest.raises(ValueError, match="drop-frame"):
        frames_to_timecode(100, 25, drop_frame=True)


@pytest.mark.parametrize(
    ("rate", "drop"),
    [(25, False), (NTSC, True), (NTSC_60, True), (24, False), (FILM, False), (NTSC, False)],
)
def test_round_trip_over_a_range_of_frames(rate: Fraction | int, drop: bool) -> None:
    nominal = nominal_rate(rate)
    # every frame of the first 11 minutes, then a stride across the whole day
    frames = [*range(11 * 60 * nominal), *range(0, 24 * 3600 * nominal - 54 * 24 * 4, 997)]
    for n in frames:
        label = frames_to_timecode(n, rate, drop)
        assert timecode_to_frames(label, rate) == n, label


def test_drop_frame_labels_are_consecutive_and_skip_only_the_dropped_ones() -> None:
    labels = [frames_to_timecode(n, NTSC, drop_frame=True) for n in range(1795, 1805)]
    assert labels[:5] == ["00:00:59;25", "00:00:59;26", "00:00:59;27", "00:00:59;28", "00:00:59;29"]
    assert labels[5:7] == ["00:01:00;02", "00:01:00;03"]


def test_frames_wrap_at_24_hours() -> None:
    assert frames_to_timecode(24 * 3600 * 25, 25) == "00:00:00:00"
    assert frames_to_timecode(-1, 25) == "23:59:59:24"
    assert frames_to_timecode(-1, NTSC, drop_frame=True) == "23:59:59;29"


@pytest.mark.parametrize(
    ("seconds", "rate", "start", "drop", "expected"),
    [
        (0, 25, None, False, "00:00:00:00"),
        (2, 25, "01:00:00:00", False, "01:00:02:00"),
        (Fraction(1001, 30000) * 1800, NTSC, None, True, "00:01:00;02"),
        (60.06, NTSC, "00:00:00;00", False, "00:01:00;02"),
        (0.5, 24, "00:58:40:00", False, "00:58:40:12"),
        (3600, FILM, "00:00:00:00", False, "00:59:56:10"),
    ],
)
def test_seconds_to_timecode_offsets_from_a_start(
    seconds: float | Fraction, rate: Fraction | int, start: str | None, drop: bool, expected: str
) -> None:
    assert seconds_to_timecode(seconds, rate, start, drop_frame=drop) == expected


def test_the_nearest_standard_rate_of_an_odd_one() -> None:
    from rushes.timecode import is_standard_rate, nearest_standard_rate

    assert nearest_standard_rate(Fraction(750000, 71393)) == Fraction(24000, 1001)  # a phone clip's 10.505 fps
    assert nearest_standard_rate(Fraction(59)) == Fraction(60000, 1001)
    assert nearest_standard_rate(Fraction(2950, 100)) == Fraction(30000, 1001)
    assert is_standard_rate(Fraction(30000, 1001)) and is_standard_rate(25)
    assert not is_standard_rate(Fraction(2997, 100))  # 29.97 written as a decimal is not the NTSC rate
