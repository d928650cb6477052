"""AI tags people can trust: labels under the threshold hidden, a rejected label gone for its shot (shown, searched
and made again), an accepted one become metadata; audited; editors only (both catalogs)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from catalog.models import AuditEntry, Scene, SearchDoc, Version
from catalog.tag_trust import decisions_of, tag_text
from pipeline.farm import Farm
from tests.conftest import bearers
from tests.test_metadata import _asset

LABELS = [["soccer ball", 0.91], ["balloon", 0.31], ["rugby ball", 0.05]]


def test_tags_show_their_confidence_and_people_accept_or_reject_them(farm: Farm, client: TestClient) -> None:
    tokens = bearers(farm, {"ed": "editor", "vera": "viewer"})
    asset_id = _asset(farm, "match.mov", seconds=16)
    with farm.transaction() as session:
        version_id = session.scalar(select(Version.id).where(Version.asset_id == asset_id))
        for index in range(2):
            session.add(Scene(version_id=version_id, index=index, start_s=index * 8.0, end_s=index * 8.0 + 8,
                              start_frame=index * 200, end_frame=index * 200 + 200, tags={"labels": LABELS}))
            session.add(SearchDoc(asset_id=asset_id, version_id=version_id, kind="tag", start_s=index * 8.0,
                                  end_s=index * 8.0 + 8, text=tag_text(LABELS, {}, 0.2)))
    scenes = client.get(f"/api/v1/assets/{asset_id}/scenes", headers=tokens["vera"]).json()
    assert scenes["tag_min_confidence"] == 0.2
    first = scenes["scenes"][0]["tags"]
    assert first["labels"] == [["soccer ball", 0.91], ["balloon", 0.31]] and first["labels_hidden"] == 1

    def search(words: str) -> list[float]:
        hits = client.get("/api/v1/search", params={"q": words, "kind": "tag"}, headers=tokens["vera"]).json()
        return sorted(h["start_s"] for h in hits["hits"])

    assert search("rugby") == [] and search("balloon") == [0.0, 8.0]  # hidden labels are not searched either

    url = f"/api/v1/assets/{asset_id}/scenes/0/tags"
    assert client.post(url, headers=tokens["vera"], json={"label": "balloon", "decision": "reject"}).status_code == 403
    unknown = client.post(url, headers=tokens["ed"], json={"label": "tiger", "decision": "reject"})
    assert unknown.status_code == 400 and "soccer ball" in unknown.json()["error"]
    rejected = client.post(url, headers=tokens["ed"], json={"label": "balloon", "decision": "reject"}).json()
    assert rejected["decision"] == "reject" and rejected["score"] == 0.31
    assert search("balloon") == [8.0]  # gone from shot 1 only
    shot = client.get(f"/api/v1/assets/{asset_id}/scenes", headers=tokens["vera"]).json()["scenes"][0]["tags"]
    assert shot["labels"] == [["soccer ball", 0.91]] and shot["decisions"] == {"balloon": "reject"}

    accepted = client.post(url, headers=tokens["ed"], json={"label": "rugby ball", "decision": "accept"}).json()
    assert accepted["metadata_field"] == "keywords"
    values = client.get(f"/api/v1/assets/{asset_id}/metadata", headers=tokens["vera"]).json()
    keywords = {f["key"]: f["value"] for v in values["views"] for f in v["fields"]}["keywords"]
    assert keywords == ["rugby ball"]  # an accepted tag is the team's metadata now
    assert search("rugby") == [0.0]  # shown and searched for its shot despite its low confidence

    with farm.sessions() as session:
        # what the tags step keeps for a shot when it runs again (pipeline/analysis_tasks.py: run_tags)
        decided = decisions_of(session, version_id)
        assert tag_text(LABELS, decided[0], 0.2) == "soccer ball rugby ball"
        assert tag_text(LABELS, decided.get(1, {}), 0.2) == "soccer ball balloon"
        lines = session.scalars(select(AuditEntry).where(AuditEntry.action == "tag decision")
                                .order_by(AuditEntry.id)).all()
    assert [(line.actor, line.subject, line.detail) for line in lines] == [
        ("ed", "shot 1: balloon", "undecided → reject (confidence 0.31)"),
        ("ed", "shot 1: rugby ball", "undecided → accept (confidence 0.05)")]
