"""Shared fixtures: the offline core; loopback fakes live in tests/fakes/."""

pytest_plugins = ["tests.core_fixtures"]
