"""Spending points: cross-scheme exchange and clearing, the redemption catalogue, the time bank,
gifts and community funds, and the emergency, compliance and expiry controls over the points."""
