"""The Discord front end: a thin discord.py layer over the core's Desk."""
