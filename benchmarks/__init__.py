"""Benchmarks: what affluent costs on top of the network and the database (``python -m benchmarks``)."""
