"""Developer tools, never imported by the app: benchmarks (``bench``), the load test (``loadtest``), the docs they generate."""
