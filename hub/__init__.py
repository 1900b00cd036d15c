"""The municipal hub: intake, households, cases, the partner feed."""
