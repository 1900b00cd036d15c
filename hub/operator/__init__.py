"""The operator interface: municipal staff list, inspect and act on cases (`seinhuis operator`),
every view and action written to the hub's hash-chained audit log (hub/audit.py)."""
