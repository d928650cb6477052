"""The catalog database: models, migrations and queries."""
