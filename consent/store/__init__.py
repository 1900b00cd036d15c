"""Where the consent registry keeps entries and its append-only change log."""
