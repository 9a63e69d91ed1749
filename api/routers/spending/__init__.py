"""Spending points: balances, the catalogue (members and merchants), exchange, the time bank,
gifts."""
