"""Shared fixtures: the loopback fakes live in tests/fakes/."""

pytest_plugins = ["tests.core_fixtures", "tests.fakes.llm_fixtures", "tests.fakes.discord_fixtures"]
