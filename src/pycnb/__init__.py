"""pycnb: a Cloud Native Buildpack for Python apps, and a local platform to run it."""
