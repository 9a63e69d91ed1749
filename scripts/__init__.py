"""The ``vpl`` CLI (``cli`` assembles the command groups of ``commands`` and the helpers they
share) and the benchmarks (``bench_*``)."""
