"""Shared fixtures: the loopback fakes live in tests/fakes/."""

pytest_plugins = [
    "tests.core_fixtures",
    "tests.fakes.llm_fixtures",
    "tests.fakes.discord_fixtures",
    "tests.fakes.news_fixtures",
]
# embedded PostgreSQL + pgvector for the postgres backend and state tests
pytest_plugins.append("tests.fakes.postgres")
