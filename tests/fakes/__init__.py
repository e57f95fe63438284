"""Loopback fakes of the services newsdesk talks to (LLM API, Discord, websites)."""
