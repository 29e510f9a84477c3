"""Helpers only the tests and the benchmark use; nothing here ships with rendersync."""
