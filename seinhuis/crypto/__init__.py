"""Cryptography: keys, the signed and sealed envelope, the development PKI, and the OPRF."""
