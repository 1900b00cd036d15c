"""Where the pseudonymisation service keeps its audit trail."""
