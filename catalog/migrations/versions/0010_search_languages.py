"""search per language: search_docs.language, the languages the catalog holds, and on PostgreSQL a tsvector made
with the text search configuration of each document's language (German stems as German)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# ISO 639-1 code → PostgreSQL 15's text search configuration (frozen here: a later change is a new migration)
CONFIGS = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "da": "danish", "nl": "dutch",
    "en": "english", "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian", "ne": "nepali",
    "no": "norwegian", "nb": "norwegian", "nn": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "sr": "serbian", "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}


def _config_expression() -> str:
    """english for documents without a language (names, tags, OCR), simple for a language PostgreSQL cannot stem."""
    cases = " ".join(f"WHEN '{code}' THEN '{config}'::regconfig" for code, config in CONFIGS.items())
    return f"CASE WHEN language IS NULL THEN 'english'::regconfig ELSE (CASE language {cases} " \
           "ELSE 'simple'::regconfig END) END"


def upgrade() -> None:
    op.add_column("search_docs", sa.Column("language", sa.String(length=16), nullable=True))
    op.create_table("search_languages", sa.Column("language", sa.String(length=16), nullable=False),
                    sa.PrimaryKeyConstraint("language", name=op.f("pk_search_languages")))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_docs_tsv")
        op.execute("ALTER TABLE search_docs DROP COLUMN tsv")
        op.execute(f"ALTER TABLE search_docs ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
                   f"(to_tsvector({_config_expression()}, text)) STORED")
        op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_docs_tsv")
        op.execute("ALTER TABLE search_docs DROP COLUMN tsv")
        op.execute("ALTER TABLE search_docs ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
                   "(to_tsvector('english', text)) STORED")
        op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")
    op.drop_table("search_languages")
    op.drop_column("search_docs", "language")
