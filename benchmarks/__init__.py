"""The docr-async benchmark suite: ``python -m benchmarks`` (see ``benchmarks/RESULTS.md``).

Every scenario starts FakeDOCR in a separate process and compares docr-async, plain aiohttp and
pydo's async client side by side in the same run.
"""
