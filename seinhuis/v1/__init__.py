"""Generated gRPC code for seinhuis.v1. Do not edit: run `make proto`."""
