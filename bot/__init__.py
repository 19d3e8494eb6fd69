"""What the bot does: platform- and storage-neutral use cases, rules and replies."""
