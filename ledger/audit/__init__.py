"""Auditors' side: the event index (``index``: followed from the chain, and read), tracing points
to the service behind them (``trace``), checks and reconciliation (``checks``), anomaly rules
(``anomalies``), the store's anchors on chain (``anchors``), and export of the answers
(``export``). What these need from the ledger is declared in ``needs``; none of them imports the
``Ledger`` façade."""
