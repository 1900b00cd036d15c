"""The consent registry: residents' consent and objections, decided by precedence, with receipts."""
