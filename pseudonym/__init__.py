"""The pseudonymisation service: an OPRF (RFC 9497) whose key only it holds."""
