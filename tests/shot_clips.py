"""Clips with known cuts, for shot detection: built from ffmpeg's lavfi sources and from the repository's real media.

Every builder returns the path and the frames where a new shot starts (at 25 fps). The set covers what a team
feeds a farm: hard cuts between different pictures, cuts inside motion (a whip pan, a deep zoom, noise), cuts
between similar shots (two angles of one field, a jump cut in an animation), shots of a few frames at the start,
in the middle and at the end, letterboxed and portrait (pillarboxed) pictures, a phone clip at 10.5 fps; and
what must not be cut: dissolves, fades through black, flashes, fast motion, a camera tilt and a fade out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.media_fixtures import BIG_BUCK_BUNNY, MEDIA, ffmpeg

SIZE = "320x180"
LEAD_IN = 10
SOURCES = {
    "testsrc2": "testsrc2=size={size}:rate={rate}",
    "smptebars": "smptebars=size={size}:rate={rate}",
    "mandelbrot": "mandelbrot=size={size}:rate={rate}",
    "rgbtestsrc": "rgbtestsrc=size={size}:rate={rate}",
    "noise": "color=c=0x336699:size={size}:rate={rate},noise=alls=40:allf=t",
    "cellauto": "cellauto=size={size}:rate={rate}:rule=110:seed=1",
    "life": "life=size={size}:rate={rate}:mold=10:ratio=0.5:seed=1:death_color=#C83232:life_color=#00ff00",
    # fast motion: a pattern panning 32 px a frame (a whip pan), a deep mandelbrot zoom, a scrolling colour chart
    "pan": "testsrc2=size={size}:rate={rate},scroll=h=0.1:v=0.05",
    "zoom": "mandelbrot=size={size}:rate={rate}:start_scale=3:end_scale=0.0001",
    "barscroll": "smptebars=size={size}:rate={rate},scroll=h=0.07",
    # noise with runs of three repeated frames, as an encoder starved of bits writes it
    "starved": "color=c=0x606060:size={size}:rate={rate},noise=alls=70:allf=t+u,fps=8,fps={rate}",
}
# the repository's real footage (tests/media/README.md): an animation, a football field shot from a tilt down off
# a plane in the sky, ending in a fade out, and a phone clip of a fire at 10.5 fps, upside down
BUNNY = BIG_BUCK_BUNNY  # 1280x720, 25 fps, 132 frames, one shot with motion
FIELD = MEDIA / "probe" / "moviepy" / "video_with_failing_audio.mp4"  # 640x360, 25 fps, 280 frames
FIRE = MEDIA / "probe" / "moviepy" / "fire2.mp4"  # 1280x720, 10.5 fps average, 25 frames, rotated 180°
X264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")


def cut_frames(lengths: list[int]) -> list[int]:
    """Where each shot after the first starts, given the shots' lengths in frames."""
    frames, total = [], 0
    for length in lengths[:-1]:
        total += length
        frames.append(total)
    return frames


def make_sequence(path: Path, shots: list[tuple[str, int]], rate: str = "25") -> Path:
    """Concatenate ``(lavfi source, frames)`` shots with hard cuts between them."""
    inputs: list[str] = []
    chains = []
    for i, (source, frames) in enumerate(shots):
        inputs += ["-f", "lavfi", "-i", SOURCES[source].format(size=SIZE, rate=rate)]
        # skip each source's first frames: life's first generation differs wholly from its random seed
        chains.append(
            f"[{i}:v]trim=start_frame={LEAD_IN}:end_frame={LEAD_IN + frames},setpts=PTS-STARTPTS,format=yuv420p[v{i}]"
        )
    labels = "".join(f"[v{i}]" for i in range(len(shots)))
    graph = ";".join([*chains, f"{labels}concat=n={len(shots)}:v=1:a=0[out]"])
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[out]", "-r", rate, *X264, str(path))
    return path


def make_real_sequence(path: Path, pieces: list[tuple[Path, int, int]], size: str = "640:360") -> Path:
    """Concatenate ``(file, first frame, frames)`` pieces of real footage at 25 fps, each fitted into ``size``
    (letterboxed or pillarboxed with black where its shape differs)."""
    inputs: list[str] = []
    chains = []
    for i, (source, start, frames) in enumerate(pieces):
        inputs += ["-i", str(source)]
        chains.append(f"[{i}:v]fps=25,trim=start_frame={start}:end_frame={start + frames},setpts=PTS-STARTPTS,"
                      f"scale={size}:force_original_aspect_ratio=decrease,pad={size}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
                      f"format=yuv420p[v{i}]")
    labels = "".join(f"[v{i}]" for i in range(len(pieces)))
    graph = ";".join([*chains, f"{labels}concat=n={len(pieces)}:v=1:a=0[out]"])
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[out]", "-r", "25", *X264, str(path))
    return path


def make_transition(path: Path, first: str, second: str, transition: str) -> Path:
    """Two 3 s lavfi shots joined by a 1 s ``xfade`` (a dissolve, a fade, a fade through black)."""
    ffmpeg("-t", "3", "-f", "lavfi", "-i", SOURCES[first].format(size=SIZE, rate=25),
           "-t", "3", "-f", "lavfi", "-i", SOURCES[second].format(size=SIZE, rate=25),
           "-filter_complex", f"[0][1]xfade=transition={transition}:duration=1:offset=2,format=yuv420p",
           *X264, str(path))
    return path


def make_real_transition(path: Path, transition: str) -> Path:
    """The bunny, then the field, joined by a 1 s ``xfade`` at 3 s."""
    ffmpeg("-i", str(BUNNY), "-i", str(FIELD), "-filter_complex",
           "[0:v]scale=640:360,fps=25,setsar=1,format=yuv420p[a];"
           "[1:v]fps=25,trim=start_frame=100:end_frame=200,setpts=PTS-STARTPTS,setsar=1,format=yuv420p[b];"
           f"[a][b]xfade=transition={transition}:duration=1:offset=3", *X264, str(path))
    return path


def make_flash(path: Path, white_frame: bool = False) -> Path:
    """The bunny with a camera flash on frames 60-61 (brightened), or one white frame at 70."""
    flash = "eq=brightness=0.6:enable='between(n,60,61)'"
    effect = "drawbox=c=white:t=fill:enable='eq(n,70)'" if white_frame else flash
    ffmpeg("-i", str(BUNNY), "-vf", effect, *X264, str(path))
    return path


Builder = Callable[[Path], tuple[Path, list[int]]]


def _lavfi(shots: list[tuple[str, int]]) -> Builder:
    return lambda path: (make_sequence(path, shots), cut_frames([n for _, n in shots]))


def _real(pieces: list[tuple[Path, int, int]], size: str = "640:360") -> Builder:
    return lambda path: (make_real_sequence(path, pieces, size), cut_frames([n for *_, n in pieces]))


def _none(make: Callable[[Path], Path]) -> Builder:
    return lambda path: (make(path), [])


#: Clips with hard cuts: each must be found within one frame, and nothing else.
HARD_CUTS: dict[str, Builder] = {
    "seven_sources": _lavfi([("testsrc2", 37), ("smptebars", 52), ("mandelbrot", 61), ("rgbtestsrc", 44),
                             ("noise", 70), ("cellauto", 33), ("life", 50)]),
    "motion_between_cuts": _lavfi([("life", 60), ("pan", 45), ("smptebars", 40), ("zoom", 75), ("barscroll", 40),
                                   ("noise", 30)]),
    "same_source_pairs": _lavfi([("noise", 40), ("smptebars", 40), ("noise", 40), ("life", 40), ("testsrc2", 40)]),
    "out_of_a_whip_pan": _lavfi([("pan", 60), ("life", 50)]),
    "out_of_a_busy_shot": _lavfi([("cellauto", 50), ("life", 50)]),
    "short_shots": _lavfi([("testsrc2", 3), ("smptebars", 40), ("noise", 4), ("mandelbrot", 40), ("life", 3)]),
    "real_cuts": _real([(BUNNY, 0, 50), (FIELD, 100, 60), (FIRE, 0, 40), (BUNNY, 80, 52), (FIELD, 10, 30)]),
    "real_similar_shots": _real([(BUNNY, 0, 45), (BUNNY, 85, 47), (FIELD, 100, 40), (FIELD, 200, 40),
                                 (FIELD, 20, 30)]),
    "real_short_shots": _real([(BUNNY, 0, 3), (FIELD, 100, 40), (FIRE, 5, 3), (BUNNY, 60, 40), (FIELD, 200, 2)]),
    "real_letterboxed": _real([(BUNNY, 0, 50), (FIELD, 100, 60), (FIRE, 0, 40), (BUNNY, 80, 52)], size="480:360"),
    "real_portrait": _real([(BUNNY, 0, 50), (FIELD, 100, 60), (FIRE, 0, 40), (BUNNY, 80, 52)], size="360:640"),
}

#: Clips without a cut: transitions, flashes, fast motion, real camera moves.
NO_CUTS: dict[str, Builder] = {
    **{f"{transition}_lavfi": (lambda t: _none(lambda p: make_transition(p, "testsrc2", "mandelbrot", t)))(transition)
       for transition in ("fade", "fadeblack", "dissolve")},
    **{f"{transition}_real": (lambda t: _none(lambda p: make_real_transition(p, t)))(transition)
       for transition in ("dissolve", "fadeblack")},
    "flash": _none(make_flash),
    "white_frame": _none(lambda p: make_flash(p, white_frame=True)),
    **{f"motion_{source}": _lavfi([(source, 75)])
       for source in ("pan", "zoom", "barscroll", "life", "cellauto", "noise", "starved")},
    "real_tilt_and_fade_out": _none(lambda p: FIELD),
    "real_animation": _none(lambda p: BUNNY),
    "real_phone_fire": _none(lambda p: FIRE),
}
