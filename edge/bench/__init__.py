"""Benchmarking: timing loops, memory and power probes, reports and plots."""
