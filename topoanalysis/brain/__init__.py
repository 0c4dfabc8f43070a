"""Brain benchmarks: offline benchmarks on real neural data, and the Brain-Score adapter."""
