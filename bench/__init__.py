"""boss benchmarks: ``python bench/run.py`` measures boss against its peers in one run."""
