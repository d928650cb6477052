"""Rule conditions in CEL (the Common Expression Language: Google's spec for safe, side-effect-free expressions;
the ``common-expression-language`` package runs it in Rust). A condition reads what is known of the asset:

- ``asset``: ``id``, ``name``, ``collection`` (its own), ``collections`` (own and added), ``kind`` (video, audio),
  ``status``, ``version`` (the number), ``folder`` (the watch folder the version came in by)
- ``metadata``: every field of the schema (a value, a list for a multiple field, ``null`` when not set)
- ``tags``: the keyframe labels people see on the version (over the confidence threshold, not rejected)
- ``media``: ``duration_s``, ``width``, ``height``, ``frame_rate``, ``video_codec``, ``audio_codec``,
  ``audio_channels``, ``has_video``, ``has_audio``, ``start_timecode``
- ``rights``: ``set`` (whether any are recorded), ``territories`` and ``channels`` (lists, empty: no limit),
  ``window_end`` (ISO text or null), ``model_release``
- ``event``: ``type`` (the trigger), ``at`` and what it carries (``by``, ``field``, ``old``, ``new``, ``label``,
  ``decision``, ``channel``, ``preset``, ``target``, ``window_end``: null where the trigger has none)

e.g. ``asset.collection == "news" && media.duration_s > 10.0 && "Guest" in metadata.talent``. A condition is
compiled when its file is read: a syntax error, a name that is not above (``metadata.camra``, ``assets.name``) or a
function CEL does not have is an error then, naming what is allowed. One that fails as it runs (comparing text with
a number) is reported as an error for that asset — never taken as false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from catalog.metadata_schema import Schema
from pipeline.rules.events import EVENT_FIELDS
from rushes.errors import ConditionError, InvalidInput

FIELDS: dict[str, tuple[str, ...]] = {
    "asset": ("id", "name", "collection", "collections", "kind", "status", "version", "folder"),
    "media": ("duration_s", "width", "height", "frame_rate", "video_codec", "audio_codec", "audio_channels",
              "has_video", "has_audio", "start_timecode"),
    "rights": ("set", "territories", "channels", "window_end", "model_release"),
    "event": EVENT_FIELDS,
    "metadata": (),  # the schema's fields
    "tags": (),
}
FUNCTIONS = frozenset({"size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string",
                       "bool", "bytes", "timestamp", "duration", "type", "dyn", "getFullYear", "getMonth",
                       "getDayOfMonth", "getDayOfWeek", "getHours", "getMinutes"})
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_BOUND = re.compile(r"\.(?:exists|all|exists_one|map|filter)\(\s*([A-Za-z_]\w*)\s*,")  # a macro's own variable
_MEMBER = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b(?!\s*\()")


def _cel() -> Any:
    # imported when a condition is compiled or asked, not when the module is: the package imports its own
    # command line (typer, prompt_toolkit) as it loads, 0.3 s of every `rushes` command and worker start
    import cel

    return cel


@dataclass(frozen=True)
class Condition:
    source: str
    program: Any

    def holds(self, context: Any) -> bool:
        """Whether the condition is true of ``context`` (a ``cel.Context`` of :func:`facts`' dict)."""
        try:
            result = self.program.execute(context)
        except Exception as exc:  # the CEL runtime raises TypeError, KeyError, RuntimeError, ValueError
            raise ConditionError(f"{self.source!r} failed: {str(exc).splitlines()[0][:300]}") from None
        if not isinstance(result, bool):
            raise ConditionError(f"{self.source!r} gives {result!r}, not true or false")
        return result


def compile_condition(source: str, schema: Schema | None = None) -> Condition:
    """The condition compiled and checked against what a condition may read (``InvalidInput`` says what is wrong
    and what is allowed)."""
    source = source.strip() or "true"
    try:
        program = _cel().compile(source)
    except ValueError as exc:
        detail = " ".join(line.strip() for line in str(exc).splitlines()[1:3])
        raise InvalidInput(f"not a CEL expression: {detail or exc}") from None
    refs = program.references()
    bound = set(_BOUND.findall(_STRINGS.sub('""', source)))  # tags.exists(t, t == "car"): t is the macro's
    unknown = sorted(set(refs.get("variables", [])) - set(FIELDS) - bound)
    if unknown:
        raise InvalidInput(f"unknown name {', '.join(unknown)} (allowed: {', '.join(FIELDS)})")
    strange = sorted(f for f in refs.get("functions", []) if f[0] not in "_@!" and f not in FUNCTIONS)
    if strange:
        raise InvalidInput(f"unknown function {', '.join(strange)} (CEL's: {', '.join(sorted(FUNCTIONS))})")
    bare = _STRINGS.sub('""', source)
    for root, member in _MEMBER.findall(bare):
        if root not in FIELDS or (root == "metadata" and schema is None):  # no schema: any field may be
            continue
        known = tuple(schema.fields) if root == "metadata" and schema is not None else FIELDS[root]
        if member not in known:
            raise InvalidInput(f"{root}.{member} is not known (allowed: {', '.join(f'{root}.{k}' for k in known)})")
    return Condition(source, program)


def context_of(facts: dict[str, Any]) -> Any:
    """A CEL context of :func:`pipeline.rules.facts.facts`' dict, made once and asked by every rule."""
    return _cel().Context(facts)
