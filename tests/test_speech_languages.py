"""Speech in the team's languages: readings in German, Spanish and Italian, and footage that switches language.

The non-English speech is synthesised here with espeak-ng (Debian's package, installed by ``make test``) from text
written for these tests, so it needs no licence; JFK's address (public domain) is the real English speech.

WER bounds, measured here with the bundled multilingual base model (int8) on espeak-ng's voices:
German 0.14, Spanish 0.18, Italian 0.31 (rate 130) and 0.50 (rate 150). espeak-ng's voices are robotic and base is
Whisper's second-smallest model (its published FLEURS WER is ~10-15 % on real German, Spanish and Italian speech),
so each bound allows a few more wrong words than measured: a broken language choice (an English "translation",
the wrong model, a hallucination) scores near or above 1.0 and fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.speech_languages import LanguageRun, Stretch, _runs, _settle
from analyzers.transcript import DEFAULT_MODEL, to_webvtt, transcribe
from tests.conftest import SHARED_MODEL_CACHE
from tests.media_fixtures import JFK, READINGS, make_language_switch, make_reading
from tests.test_transcript import REFERENCES, word_error_rate

pytestmark = pytest.mark.slow

JFK_TEXT = REFERENCES[JFK]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each reading synthesised to a WAV, and JFK followed after a second by the German reading."""
    folder = tmp_path_factory.mktemp("speech")
    files = {language: make_reading(folder / f"{language}.wav", language) for language in READINGS}
    files["en+de"] = make_language_switch(folder / "en+de.wav")
    return files


@pytest.mark.parametrize("language", sorted(READINGS))
def test_a_reading_in_another_language_is_detected_and_transcribed(speech: dict[str, Path], language: str) -> None:
    # Given a reading in the language, nobody saying which
    text, _rate, bound = READINGS[language]
    # When transcribed with the farm's default (a model per language)
    transcript = transcribe(speech[language], cache_dir=SHARED_MODEL_CACHE)
    # Then the language is found, the multilingual model transcribes it, and the words are right within the bound
    wer = word_error_rate(text, transcript.text)
    print(f"{language}: WER {wer:.3f} (bound {bound}), p={transcript.language_probability:.2f}: {transcript.text}")
    assert transcript.language == language and transcript.language_probability > 0.5
    assert Path(transcript.model).name == "whisper-base"
    assert {s.language for s in transcript.segments} == {language}
    assert wer <= bound, transcript.text


def test_footage_that_switches_language_is_transcribed_in_each(speech: dict[str, Path]) -> None:
    # Given JFK (English, 11 s) followed by the German news reading (12 s)
    transcript = transcribe(speech["en+de"], cache_dir=SHARED_MODEL_CACHE)
    # When split by the language of each segment
    english = " ".join(s.text for s in transcript.segments if s.language == "en")
    german = " ".join(s.text for s in transcript.segments if s.language == "de")
    print(f"languages {transcript.languages}\nen: {english}\nde: {german}")
    # Then each part is transcribed in its own language (not the German as an English translation), in order
    assert set(transcript.languages) == {"en", "de"}
    assert [s.language for s in transcript.segments] == sorted((s.language for s in transcript.segments),
                                                              key=lambda code: code != "en")
    assert word_error_rate(JFK_TEXT, english) <= 0.10  # tiny.en, as for JFK alone
    assert word_error_rate(READINGS["de"][0], german) <= READINGS["de"][2]
    first_german = next(s for s in transcript.segments if s.language == "de")
    assert first_german.start_s >= 10.0  # the reading starts 12 s in (JFK is 11 s, then a second of silence)
    # and the subtitles mark the German cues as German when English is the transcript's language (or vice versa)
    vtt = to_webvtt(transcript)
    other = "de" if transcript.language == "en" else "en"
    assert f"<lang {other}>" in vtt


def test_a_given_language_is_not_detected(speech: dict[str, Path]) -> None:
    # Given the German reading said to be German (sidecar or watch folder)
    transcript = transcribe(speech["de"], language="de", cache_dir=SHARED_MODEL_CACHE)
    # Then it is transcribed as German without a detection (Whisper reports a given language as certain)
    assert transcript.language == "de" and transcript.language_probability == 1.0
    assert transcript.languages == {"de": pytest.approx(transcript.duration_s, abs=0.1)}


def test_english_still_goes_to_tiny_en(speech: dict[str, Path]) -> None:
    transcript = transcribe(JFK, cache_dir=SHARED_MODEL_CACHE)
    assert transcript.model == DEFAULT_MODEL and transcript.language == "en"
    assert word_error_rate(JFK_TEXT, transcript.text) <= 0.10


# --- the run logic on its own (stretches as the detector would label them) ------------------------------------


def test_an_unsure_stretch_keeps_the_language_around_it() -> None:
    stretches = [Stretch(0.5, 6.0, "en", 0.95), Stretch(6.5, 7.2, "nn", 0.2), Stretch(7.8, 14.0, "en", 0.9),
                 Stretch(15.0, 29.0, "de", 0.97), Stretch(29.5, 29.8)]  # the last one too short to detect
    runs = _runs(_settle(stretches), 31.0)
    assert [(r.language, r.start_s, r.end_s) for r in runs] == [("en", 0.0, 14.5), ("de", 14.5, 31.0)]
    assert runs[0].speech_s == pytest.approx(5.5 + 0.7 + 6.2)


def test_leading_silence_and_unsure_starts_take_the_first_sure_language() -> None:
    stretches = [Stretch(2.0, 3.5, "pt", 0.3), Stretch(4.0, 12.0, "es", 0.88)]
    assert [(r.language, r.start_s, r.end_s) for r in _runs(_settle(stretches), 12.5)] == [("es", 0.0, 12.5)]


def test_no_speech_at_all_is_one_run_without_a_language() -> None:
    assert _runs(_settle([]), 9.0) == [LanguageRun(None, 0.0, 9.0, 0.0, 0.0)]
