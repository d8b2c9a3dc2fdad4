"""Benchmarks of the transparency log: append throughput with many writers (``bench.log.append``) and the
oversight check at a city's scale (``bench.log.verify``). See README.md in this folder."""
