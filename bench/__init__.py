"""Benchmarks, run with ``make bench``; results are ratios against a baseline from the same run."""
