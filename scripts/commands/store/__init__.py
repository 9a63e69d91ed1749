"""``vpl db``: the off-chain store itself (its schema revision)."""
