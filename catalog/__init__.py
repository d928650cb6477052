"""The catalog database: models, migrations and queries."""

# The audit trail's append-only guards (ORM events) must be in place whatever part of the catalog is used.
from catalog import audit as _audit  # noqa: F401, E402
