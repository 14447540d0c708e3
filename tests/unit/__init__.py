"""Pure unit tests: no network, no real sleeps."""
