"""Test media: the real files in ``tests/media`` and small clips generated with ffmpeg's lavfi sources.

Clips are made with the bundled ffmpeg directly (not through the runner under test). Use
:class:`Clips` from a module- or session-scoped fixture so each clip is generated once::

    @pytest.fixture(scope="module")
    def clips(tmp_path_factory):
        return Clips(tmp_path_factory.mktemp("clips"))
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cached_property
from pathlib import Path
from typing import Any

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
MEDIA = Path(__file__).resolve().parent / "media"  # real files with known facts: tests/media/README.md
BIG_BUCK_BUNNY = MEDIA / "probe" / "bigbuckbunny.mp4"  # 1280x720 25 fps, 5.1 AAC, 5.3 s
JFK = MEDIA / "speech" / "jfk.flac"  # 11 s of English speech, public domain
LIBRISPEECH = MEDIA / "speech" / "librispeech-2412-153948-0000.flac"  # 11.66 s of read English speech


def ffmpeg(*args: str) -> None:
    """Run the bundled ffmpeg quietly; raise CalledProcessError on failure."""
    subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args], check=True, timeout=120
    )


def make_clip(
    path: Path,
    *,
    size: str = "320x240",
    rate: int = 25,
    seconds: float = 2.0,
    audio: bool = True,
    sar: str | None = None,
    timecode: str | None = None,
    pattern: str = "testsrc2",
) -> Path:
    """A test pattern with a stereo tone (if ``audio``), H.264/AAC, ``sar`` like "64/45"."""
    inputs = ["-f", "lavfi", "-i", f"{pattern}=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    video_filter = ["-vf", f"setsar={sar}"] if sar else []
    audio_codec = ["-c:a", "aac", "-ac", "2"] if audio else ["-an"]
    ffmpeg(
        *inputs,
        *video_filter,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        *audio_codec,
        *(["-timecode", timecode] if timecode else []),
        "-shortest",
        str(path),
    )
    return path


def make_rotated(src: Path, dst: Path, degrees: int) -> Path:
    """A stream copy of ``src`` whose video carries a display rotation of ``degrees``."""
    ffmpeg("-display_rotation", str(degrees), "-i", str(src), "-c", "copy", str(dst))
    return dst


def long_lavfi_args(seconds: int = 60) -> list[str]:
    """Runner arguments that take ``seconds`` of wall time (``-re``) and write nothing."""
    return ["-re", "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=64x64:rate=10", "-f", "null", "-"]


class Clips:
    """Named test clips, each generated on first use into ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @cached_property
    def hd_25p(self) -> Path:
        """1920x1080, 25 fps, stereo, 2 s."""
        return make_clip(self.folder / "hd_25p.mov", size="1920x1080", rate=25)

    @cached_property
    def vga(self) -> Path:
        """640x480, 25 fps, stereo, 2 s."""
        return make_clip(self.folder / "vga.mp4", size="640x480")

    @cached_property
    def anamorphic_pal(self) -> Path:
        """720x576 with 64/45 pixels (16:9 PAL), 25 fps, stereo, 2 s."""
        return make_clip(self.folder / "anamorphic.mp4", size="720x576", sar="64/45")

    @cached_property
    def rotated_90(self) -> Path:
        """640x360 stored landscape with a 90° display rotation (a phone held upright)."""
        landscape = make_clip(self.folder / "landscape.mp4", size="640x360")
        return make_rotated(landscape, self.folder / "rotated_90.mp4", 90)

    @cached_property
    def silent(self) -> Path:
        """320x240, 25 fps, no audio, 2 s."""
        return make_clip(self.folder / "silent.mp4", audio=False)

    @cached_property
    def small(self) -> Path:
        """320x240, 25 fps, stereo, 2 s."""
        return make_clip(self.folder / "small.mp4")

    @cached_property
    def not_media(self) -> Path:
        """A text file named like a movie."""
        path = self.folder / "notes.mp4"
        path.write_text("this is not a movie\n")
        return path


# Readings written for the tests, synthesised with espeak-ng (language: text, words a minute, the WER bound that
# tests/test_speech_languages.py justifies)
READINGS = {
    "de": ("Guten Abend, meine Damen und Herren. Hier sind die Nachrichten. Der Bundestag hat heute über den neuen "
           "Haushalt beraten. In Berlin und Hamburg bleibt es morgen trocken und sonnig.", 150, 0.25),
    "es": ("Buenos días a todos. El tren de la mañana sale del andén tres. Por favor, no olviden sus maletas en el "
           "vagón.", 150, 0.35),
    "it": ("Buongiorno a tutti. Il treno per Milano parte dal binario quattro. Vi auguriamo un buon viaggio.", 130,
           0.45),
}


def make_reading(path: Path, language: str) -> Path:
    """The test reading in ``language``, spoken by espeak-ng (Debian's package, installed by ``make test``)."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is missing: `make test` installs it (apt-get install espeak-ng)"
    text, rate, _bound = READINGS[language]
    subprocess.run([espeak, "-v", language, "-s", str(rate), "-w", str(path), text], check=True, timeout=60)
    return path


def make_language_switch(path: Path) -> Path:
    """JFK's English (11 s), a second of silence, then the German reading (12 s): 16 kHz mono."""
    german = make_reading(path.with_name(f".{path.stem}-de.wav"), "de")
    ffmpeg("-i", str(JFK), "-i", str(german), "-filter_complex",
           "[0:a]aresample=16000,aformat=channel_layouts=mono[a];"
           "[1:a]aresample=16000,aformat=channel_layouts=mono,adelay=1000[b];[a][b]concat=n=2:v=0:a=1", str(path))
    german.unlink()
    return path


def make_slate(path: Path, text: str, size: tuple[int, int] = (640, 360)) -> Path:
    """A white card with ``text`` in big black letters, as a clapper slate or title card."""
    from PIL import Image, ImageDraw, ImageFont

    card = Image.new("RGB", size, "white")
    ImageDraw.Draw(card).text((30, size[1] // 2 - 30), text, fill="black", font=ImageFont.load_default(size=56))
    card.save(path)
    return path


def make_programme(folder: Path, speech: Path) -> Path:
    """11 s at 640x360 25p with timecode 01:00:00:00: testsrc2 (0-4 s), a slate reading
    "SCENE 42 TAKE 3" (4-8 s), SMPTE bars (8-11 s); cuts at frames 100 and 200; ``speech`` as its sound."""
    slate = make_slate(folder / "slate.png", "SCENE 42 TAKE 3")
    out = folder / "programme.mov"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=4",
        "-loop", "1", "-framerate", "25", "-t", "4", "-i", str(slate),
        "-f", "lavfi", "-i", "smptebars=size=640x360:rate=25:duration=3",
        "-i", str(speech),
        "-filter_complex", "[1:v]format=yuv420p,setsar=1[s];[0:v][s][2:v]concat=n=3:v=1:a=0[v]",
        "-map", "[v]", "-map", "3:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-ac", "2", "-t", "11", "-timecode", "01:00:00:00", str(out),
    )  # fmt: skip
    return out


def first_channel(path: Path) -> tuple[Any, int]:
    """The first channel of the first audio track as one float array, and its sample rate (planar or packed)."""
    import av
    import numpy as np

    with av.open(str(path)) as container:
        rate = container.streams.audio[0].codec_context.sample_rate
        parts = [f.to_ndarray()[0] if f.format.is_planar else f.to_ndarray()[0][:: len(f.layout.channels)]
                 for f in container.decode(audio=0)]  # packed PCM interleaves the channels
    return np.concatenate(parts).astype(np.float64), rate
