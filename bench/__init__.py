"""Benchmarks (``make bench``): throughput and memory, kept out of the test suite."""
