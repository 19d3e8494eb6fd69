"""Slack: bolt AsyncApp on our aiohttp route, listeners, Block Kit rendering."""
