"""The footage teams really get, built with ffmpeg: silent and soundless clips, other shapes, rotated phones,
anamorphic and interlaced PAL, odd sizes and codecs, VFR, NTSC-family rates, sound shorter or longer than the
picture, a late start time. Used by ``tests/test_preset_matrix.py`` and ``bench/preset_matrix.py``.

Each picture is a mid-grey field (so the active area is measurable: black bars read as luma < 40) with a
white disc in the middle (a stretched picture turns it into an ellipse), over a stretch of real speech
(JFK, public domain). The real clips add what cannot be built: a phone recording that needs a +34 dB lift
through the limiter, a 5.1 film mix, 4K HEVC VFR, NTSC 29.97i with non-square pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from tests.media_fixtures import JFK, MEDIA, ffmpeg

SECONDS = 3


@dataclass(frozen=True)
class Awkward:
    """A source and what its picture is: the display aspect (width/height, upright) and its length."""

    name: str
    path: Path
    display_aspect: Fraction
    duration_s: float
    sound: str = "programme"  # "programme" | "silent" | "none"
    pattern: bool = True  # the grey field with a round disc (built here); False: a real clip's own picture


def _picture(size: str, rate: str, seconds: float = SECONDS, sar: Fraction = Fraction(1)) -> list[str]:
    """The grey field with a disc that is round on screen (drawn wider in storage pixels when they are not square)."""
    width, height = (int(v) for v in size.split("x"))
    radius = min(width * sar, height) / 4
    disc = (f"geq=lum='if(lt(hypot((X-{width / 2})*{float(sar)},Y-{height / 2}),{float(radius)}),235,128)'"
            ":cb=128:cr=128")
    # geq evaluates its expression per pixel (2 s for 3 s of 720p): draw the first frame, repeat it
    still = f"trim=end_frame=1,{disc},loop=loop=-1:size=1,setpts=N/(({rate})*TB),trim=duration={seconds}"
    return ["-f", "lavfi", "-i", f"color=c=gray:size={size}:rate={rate}:duration={seconds},format=yuv420p,{still}"]


def _speech(seconds: float = SECONDS) -> list[str]:
    return ["-ss", "1", "-t", f"{seconds}", "-i", str(JFK)]


_H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def build(folder: Path) -> list[Awkward]:
    """Every awkward source, written into ``folder`` (about 4 s of ffmpeg on two cores)."""
    folder.mkdir(parents=True, exist_ok=True)
    made: list[Awkward] = []

    def out(name: str) -> str:
        return str(folder / name)

    ffmpeg(*_picture("1280x720", "25"), "-f", "lavfi", "-i",
           f"anullsrc=channel_layout=stereo:sample_rate=48000:duration={SECONDS}",
           *_H264, "-c:a", "aac", "-t", str(SECONDS), out("silent-track.mp4"))
    made.append(Awkward("silent track", folder / "silent-track.mp4", Fraction(16, 9), SECONDS, "silent"))

    ffmpeg(*_picture("1280x720", "25"), *_H264, out("no-sound.mp4"))
    made.append(Awkward("no sound", folder / "no-sound.mp4", Fraction(16, 9), SECONDS, "none"))

    ffmpeg(*_picture("640x480", "25"), *_speech(), *_H264, "-c:a", "aac", "-ac", "2", "-shortest", out("4x3.mp4"))
    made.append(Awkward("4:3", folder / "4x3.mp4", Fraction(4, 3), SECONDS))

    ffmpeg(*_picture("1280x536", "25"), *_speech(), *_H264, "-c:a", "aac", "-ac", "2", "-shortest",
           "-timecode", "10:00:00:00", out("scope-2.39.mov"))
    made.append(Awkward("2.39:1 with timecode", folder / "scope-2.39.mov", Fraction(1280, 536), SECONDS))

    ffmpeg(*_picture("640x360", "30"), *_speech(), *_H264, "-c:a", "aac", "-ac", "1", "-shortest",
           out("phone-landscape.mp4"))
    ffmpeg("-display_rotation", "90", "-i", out("phone-landscape.mp4"), "-c", "copy", out("phone-9x16.mp4"))
    made.append(Awkward("phone 9:16, rotation metadata", folder / "phone-9x16.mp4", Fraction(9, 16), SECONDS))

    ffmpeg(*_picture("720x576", "25", sar=Fraction(16, 11)), *_speech(), "-vf", "setsar=16/11,setfield=tff", *_H264,
           "-flags", "+ildct+ilme", "-x264opts", "tff=1", "-c:a", "aac", "-ac", "2", "-shortest", out("pal-16x11.mp4"))
    made.append(Awkward("anamorphic PAL interlaced, SAR 16:11", folder / "pal-16x11.mp4",
                        Fraction(720 * 16, 576 * 11), SECONDS))

    ffmpeg(*_picture("190x240", "15"), *_speech(), "-c:v", "mpeg4", "-q:v", "4", "-c:a", "libmp3lame", "-ac", "1",
           "-shortest", out("odd-190x240.avi"))
    made.append(Awkward("190x240 MPEG-4 Part 2", folder / "odd-190x240.avi", Fraction(190, 240), SECONDS))

    # VFR: 25 fps for a second, then frames 80 ms apart (a phone dropping its rate in low light)
    ffmpeg(*_picture("1280x720", "25", 2.2), *_speech(),
           "-vf", "setpts='if(lt(N,25),N/25,1+(N-25)*0.08)/TB'", "-fps_mode", "passthrough", *_H264,
           "-c:a", "aac", "-ac", "2", "-t", str(SECONDS), out("vfr.mp4"))
    made.append(Awkward("VFR", folder / "vfr.mp4", Fraction(16, 9), SECONDS))

    for label, rate in (("29.97", "30000/1001"), ("23.976", "24000/1001")):
        ffmpeg(*_picture("1280x720", rate), *_speech(), *_H264, "-c:a", "aac", "-ac", "2", "-shortest",
               out(f"rate-{label}.mp4"))
        made.append(Awkward(f"{label} fps", folder / f"rate-{label}.mp4", Fraction(16, 9), SECONDS))

    ffmpeg(*_picture("1280x720", "25"), *_speech(1.5), *_H264, "-c:a", "aac", "-ac", "2", out("short-sound.mp4"))
    made.append(Awkward("sound shorter than picture", folder / "short-sound.mp4", Fraction(16, 9), SECONDS))

    ffmpeg(*_picture("1280x720", "25", SECONDS - 1), *_speech(), *_H264, "-c:a", "aac", "-ac", "2",
           out("long-sound.mp4"))
    made.append(Awkward("sound longer than picture", folder / "long-sound.mp4", Fraction(16, 9), SECONDS))

    ffmpeg(*_picture("1280x720", "25"), *_speech(), "-c:v", "mpeg2video", "-q:v", "3", "-c:a", "mp2", "-ac", "2",
           "-shortest", "-output_ts_offset", "10", out("late-start.ts"))
    made.append(Awkward("MPEG-TS starting at 10 s", folder / "late-start.ts", Fraction(16, 9), SECONDS))

    ffmpeg(*_picture("854x480", "25"), *_speech(), "-c:v", "libvpx", "-b:v", "1M", "-c:a", "libvorbis", "-ac", "2",
           "-shortest", out("vp8-vorbis.webm"))
    made.append(Awkward("VP8/Vorbis WebM", folder / "vp8-vorbis.webm", Fraction(854, 480), SECONDS))
    return made


def real_files() -> list[Awkward]:
    """The repository's real media with picture: a rotated phone clip, 5.1 animation, 4K HEVC VFR, 29.97i."""
    probe = MEDIA / "probe"
    return [
        Awkward("phone clip rotated 180, odd rate (fire2)", probe / "moviepy" / "fire2.mp4", Fraction(16, 9), 2.38,
                pattern=False),
        Awkward("Big Buck Bunny 5.1", probe / "bigbuckbunny.mp4", Fraction(16, 9), 5.312, pattern=False),
        Awkward("4K HEVC VFR", probe / "timecodekit" / "VideoTrack_25_VFR_2sec.mov", Fraction(16, 9), 2.0, "none",
                False),
        Awkward("NTSC 29.97i", probe / "timecodekit" / "VideoAndTimecodeTrack_29_97i_Start-00-00-00-00.mov",
                Fraction(720 * 10, 480 * 11), 10 / 29.97, "none", False),
    ]
