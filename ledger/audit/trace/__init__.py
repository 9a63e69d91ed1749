"""Trace points back to the service behind them, and check the off-chain store against the chain.

For auditors (MISSION.md: "trace any point back to the approved service record and the people who
approved it"). Three ways in, each ending at service records: ``records.trace_record`` (a service
record), ``batches.trace_batch`` (a batch of records approved in one transaction) and
``transactions.trace_transaction`` (every movement of points in a transaction, with its cause);
``rows`` lays them out for export.

The chain is the source of truth: records and activities are read from the contracts; the index
only says where things happened (``timeline``: transactions, blocks), and is only asked about
blocks it holds. Each trace lists ``problems``: anything that must never happen (a record approved
by its own volunteer, points issued that differ from the record's) or a store that disagrees with
the chain (``store``).
"""
