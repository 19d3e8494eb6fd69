"""Where the bot keeps things: tables, engine, migrations and the repository."""
