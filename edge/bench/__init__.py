"""Benchmarking: timing loops, memory and power probes, reports and plots.

``bench(artifacts, options=BenchOptions(...))`` measures several artifacts in interleaved rounds and
returns a result of schema edge.bench/1; ``write_report`` writes its JSON, Markdown and PNG plots;
``compare`` puts result files side by side.
"""

from edge.bench.core import BenchOptions, bench
from edge.bench.report import compare, load_result, to_markdown, write_report
from edge.bench.stats import latency_stats

__all__ = ["BenchOptions", "bench", "compare", "latency_stats", "load_result", "to_markdown", "write_report"]
