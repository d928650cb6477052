"""Orchestration rules: on a trigger (a version ready…), when a CEL condition holds of the asset, do actions
(set metadata, add to or move to a collection…). ``files`` reads and checks rule files, ``conditions`` compiles
conditions, ``facts`` makes what they read, ``dry_run`` shows what rules would do to the catalog's assets."""
