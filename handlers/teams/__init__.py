"""Microsoft Teams on the Microsoft 365 Agents SDK: endpoint, bot, Adaptive Cards, notifier."""
