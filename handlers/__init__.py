"""How the bot talks to the world (Slack, Teams, HTTP, CLI), and where it is wired together."""
