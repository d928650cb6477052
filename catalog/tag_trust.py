"""AI tags people can trust: each keyframe label shown with its confidence, those under the farm's threshold hidden
(``RUSHES_TAG_MIN_CONFIDENCE``), and a person's word on a label of a shot: **accept** (the label becomes the
asset's metadata, in the keywords field) or **reject** (never shown, searched or made again for that shot).
Both audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.metadata_schema import Schema
from catalog.metadata_values import Edit, save
from catalog.models import Scene, SearchDoc, TagDecision, Version, utcnow
from rushes.errors import InvalidInput, NotFound

DECISIONS = ("accept", "reject")


def decisions_of(session: Session, version_id: int) -> dict[int, dict[str, str]]:
    """Shot index → label → decision, for a version."""
    out: dict[int, dict[str, str]] = {}
    for row in session.scalars(select(TagDecision).where(TagDecision.version_id == version_id)):
        out.setdefault(row.scene_index, {})[row.label] = row.decision
    return out


def trusted(labels: list[Any], decisions: dict[str, str], min_confidence: float) -> tuple[list[Any], int]:
    """The labels to show and search (accepted ones, and those at or over the threshold not rejected), and how
    many were hidden for their low confidence."""
    shown, hidden = [], 0
    for label, score in labels:
        decision = decisions.get(label)
        if decision == "reject":
            continue
        if decision == "accept" or score >= min_confidence:
            shown.append([label, score])
        else:
            hidden += 1
    return shown, hidden


def tag_text(labels: list[Any], decisions: dict[str, str], min_confidence: float) -> str:
    """The text of a shot's tag search document."""
    return " ".join(label for label, _score in trusted(labels, decisions, min_confidence)[0])


def decide(session: Session, schema: Schema | None, version: Version, scene_index: int, label: str, decision: str,
           *, by: str, role: str | None, min_confidence: float, keywords_field: str | None) -> dict[str, Any]:
    """Record ``decision`` on ``label`` of shot ``scene_index``; an accepted label is added to the asset's
    ``keywords_field`` (when the schema has it); the shot's tag search document is made anew."""
    if decision not in DECISIONS:
        raise InvalidInput(f"a tag decision is accept or reject, not {decision!r}")
    scene = session.scalar(select(Scene).where(Scene.version_id == version.id, Scene.index == scene_index))
    if scene is None:
        raise NotFound(f"version {version.number} of asset {version.asset_id} has no shot {scene_index}")
    labels = (scene.tags or {}).get("labels") or []
    scores = {name: score for name, score in labels}
    if label not in scores:
        raise InvalidInput(f"shot {scene_index} has no tag {label!r}; its tags: {', '.join(scores) or 'none'}")
    row = session.scalar(select(TagDecision).where(TagDecision.version_id == version.id,
                                                   TagDecision.scene_index == scene_index, TagDecision.label == label))
    before = row.decision if row else None
    if row is None:
        row = TagDecision(asset_id=version.asset_id, version_id=version.id, scene_index=scene_index, label=label,
                          decision=decision, score=scores[label], decided_by=by)
        session.add(row)
    else:
        row.decision, row.decided_by, row.decided_at, row.score = decision, by, utcnow(), scores[label]
    session.flush()
    became = None
    if decision == "accept" and schema is not None and keywords_field in schema.fields:
        save(session, schema, version.asset_id, Edit(add={keywords_field: label}), actor=by, role=role,
             source=f"accepted tag of shot {scene_index + 1}")
        became = keywords_field
    decisions = decisions_of(session, version.id).get(scene_index, {})
    session.execute(delete(SearchDoc).where(SearchDoc.version_id == version.id, SearchDoc.kind == "tag",
                                            SearchDoc.start_s == scene.start_s))
    text = tag_text(labels, decisions, min_confidence)
    if text:
        session.add(SearchDoc(asset_id=version.asset_id, version_id=version.id, kind="tag", start_s=scene.start_s,
                              end_s=scene.end_s, text=text))
    record(session, actor=by, role=role, action="tag decision", asset_id=version.asset_id, version_id=version.id,
           subject=f"shot {scene_index + 1}: {label}", detail=f"{before or 'undecided'} → {decision} "
                                                             f"(confidence {scores[label]:.2f})")
    return {"scene": scene_index, "label": label, "decision": decision, "score": scores[label],
            "was": before, "metadata_field": became}
