"""Search per language, on both catalogs: a transcript segment keeps its spoken language; PostgreSQL stems each
document with its language's text search configuration and each query in every language the catalog holds;
SQLite's FTS5 (one stemmer, English) matches other languages word for word."""

from __future__ import annotations

from catalog.models import Asset, Collection, SearchDoc, SearchLanguage, Version
from catalog.search import remember_languages, search
from pipeline.farm import Farm


def _docs(farm: Farm) -> None:
    with farm.transaction() as session:
        collection = Collection(name="news")
        session.add(collection)
        session.flush()
        asset = Asset(name="bulletin.mov", source_folder="news", collection_id=collection.id, status="ready")
        session.add(asset)
        session.flush()
        version = Version(asset_id=asset.id, number=1, content_hash="f" * 64, size=1, original_name="bulletin.mov",
                          source_folder="news", source_path="/x/bulletin.mov", status="ready")
        session.add(version)
        session.flush()
        session.add_all([
            SearchDoc(asset_id=asset.id, version_id=version.id, kind="transcript", start_s=0.0, end_s=4.0,
                      text="The cyclist was riding through the old town.", language="en"),
            SearchDoc(asset_id=asset.id, version_id=version.id, kind="transcript", start_s=12.0, end_s=16.0,
                      text="Hier sind die Nachrichten aus den Städten.", language="de"),
            SearchDoc(asset_id=asset.id, version_id=version.id, kind="transcript", start_s=20.0, end_s=24.0,
                      text="El tren de la mañana sale del andén tres.", language="es"),
            SearchDoc(asset_id=asset.id, version_id=version.id, kind="name", text="bulletin mov"),
        ])
        remember_languages(session, {"en", "de", "es"})
        remember_languages(session, {"de"})  # noted twice: no error, one row


def test_each_language_is_found_in_its_own_words(farm: Farm) -> None:
    # Given transcript segments in English, German and Spanish
    _docs(farm)
    postgres = farm.engine.dialect.name == "postgresql"
    with farm.sessions() as session:
        assert sorted(session.scalars(SearchLanguage.__table__.select()).all()) == ["de", "en", "es"]

        def found(query: str) -> list[float | None]:
            return [hit.start_s for hit in search(session, query)]

        # When searched, Then every segment is found by its own words, at its time, on both catalogs
        assert found("riding") == [0.0] and found("Nachrichten") == [12.0] and found("andén") == [20.0]
        assert found("rides") == [0.0]  # English stemming on both (Porter in FTS5, english on PostgreSQL)
        # and on PostgreSQL another form of a German or Spanish word finds it too (stemmed in its language);
        # SQLite's FTS5 stems English only: there other languages match word for word
        if postgres:
            assert found("Nachricht") == [12.0] and found("Stadt") == [12.0] and found("trenes") == [20.0]
        else:
            assert found("Nachricht") == [] and found("trenes") == []
