"""After a closed gate: a remediation plan, a guarded apply, and a fence.

The only part of restoregate that writes, and only when told to. ``plan`` turns a
report into engine-neutral steps; ``script`` renders them through an engine's
``PlanWriter`` into a script a DBA can read, review and run; ``apply`` runs that script
in one transaction and commits only when the checks it answers pass again inside it.
"""
