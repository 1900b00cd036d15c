"""The hub's judgement: policies, matching, regiehouder, deadlines, case lifecycle, who learns what.

Pure domain code (no grpc, no generated code, no storage, no clock): `engine.evaluate` and
`engine.apply` take frozen dataclasses and a day, and return a `decision.Decision`.
"""
