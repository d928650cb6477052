"""What to do about a failed QC check, in words for the editor who asked for the rendition.

The farm already fixes what it can (silence, other shapes, odd rates, peaks over the ceiling); what still fails
is either the source (cut short, damaged sound), the preset (a setting the source cannot meet) or the farm
(an encoder that did not do what it was told). Each piece of advice says which, and what to do next.
"""

from __future__ import annotations

_ASK_AGAIN = "ask for the rendition again (rushes render ASSET PRESET)"
_FARM = (f"the encoder did not write what the preset asks for, which the source cannot cause: {_ASK_AGAIN}; if it "
         "fails again, tell the farm's admin (the preset may ask for what this ffmpeg build cannot do)")
_PACKAGE = f"the file is not packaged as the preset says: {_ASK_AGAIN}; if it fails again, tell the farm's admin"
_HLS = f"the HLS package is incomplete (a render cut short or a full disk): {_ASK_AGAIN}"
_FRAME = ("the picture is not the preset's frame: give the preset a reframe (pad for letterbox/pillarbox, crop, "
          "or blur-pad for social) or leave its width or height empty to keep the source's shape")
_LENGTH = ("the rendition is not as long as the source: the source may be cut short or its picture and sound end "
           "at different times; check that it plays to its end (rushes assets show ASSET), ingest a complete copy and "
           f"{_ASK_AGAIN}")
_LAYOUT = ("the sound tracks are not the preset's layout: check the source's tracks (rushes assets show ASSET) "
           "against the preset's audio channels (rushes presets show PRESET)")

ADVICE: dict[str, str] = {
    "readable": f"the rendition cannot be opened: {_ASK_AGAIN}; if it fails again, the source may be damaged "
                "(rushes assets show ASSET) - ingest a good copy",
    "container": _PACKAGE, "container brand": _PACKAGE, "operational pattern": _PACKAGE, "faststart": _PACKAGE,
    "video codec": _FARM, "video profile": _FARM, "pix_fmt": _FARM, "scan": _FARM, "video bitrate": _FARM,
    "audio codec": _FARM, "sample rate": _FARM, "frame rate": _FARM,
    "video stream": "the rendition has no picture although the preset has one: the source has no usable video "
                    "(rushes assets show ASSET) - use an audio preset for sound-only material",
    "width": _FRAME, "height": _FRAME, "frame size": _FRAME,
    "audio stream": _LAYOUT, "audio channels": _LAYOUT, "audio tracks": _LAYOUT,
    "integrated loudness": "the sound could not be brought to the target: listen to the source for damage "
                           "(clipping, a dead or phase-inverted channel, a loud burst in long silence); a mix with "
                           "a very wide range needs a remix, or a preset with a wider tolerance",
    "true peak": "the peaks are over the ceiling after limiting, which points to a clipped or damaged source: "
                 "ask for a remix, or lower the preset's loudness target",
    "duration": _LENGTH,
    "sound length": _LENGTH,
    "timecode": "the rendition's start timecode differs from the source's: check the source's timecode (rushes "
                f"assets show ASSET), then {_ASK_AGAIN}; if it differs again, tell the farm's admin",
    "time reference": "the BWF time reference does not match the source's start timecode: check the source's "
                      f"timecode and frame rate (rushes assets show ASSET), then {_ASK_AGAIN}",
    "master playlist": _HLS, "variants": _HLS, "playlist": _HLS, "playlist type": _HLS, "segments": _HLS,
    "endlist": _HLS, "audio rendition": _HLS, "variant bandwidth": _HLS,
}


def advice_for(name: str) -> str:
    """What to do about the failed check ``name`` (an HLS variant's checks carry a ``"720p: "`` prefix)."""
    base = name.rpartition(": ")[2]
    return ADVICE.get(base, "compare the preset (rushes presets show PRESET) with the source (rushes assets show "
                            f"ASSET), then {_ASK_AGAIN}")
