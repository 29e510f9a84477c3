"""Shared test configuration: the real-service fixtures are registered for every test folder."""

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.pipeline"]
