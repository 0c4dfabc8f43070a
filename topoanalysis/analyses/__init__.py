"""One module per analysis (v1, it, brain, temporal, robustness), each ``run(models, params, runtime) -> Result``."""
