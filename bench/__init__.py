"""pycnb's build benchmark: `bench/run` (or `python -m bench`); see bench/README-section.md."""
