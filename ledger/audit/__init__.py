"""Auditors' side: the event index (``indexer`` writes it, ``queries`` reads it), tracing points to
the service behind them, checks and reconciliation, anomaly rules, the store's anchors on chain,
and export of the answers."""
