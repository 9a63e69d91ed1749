"""Batch issuance from a CSV file: `vpl issue batch FILE.csv`, the issuer's daily work.

1. ``plan.plan_batch`` reads the whole file and checks every row against everything the chain will
   check (member active, time order and caps per volunteer, activity window and places, rule,
   quota, four eyes) plus what only the store can check (record ids and evidence never reused). It
   reports every bad row with its line number.
2. ``pay.run_batch`` writes nothing if any row is bad (unless told to pay only the good rows), then
   pays the rows in chunks: per chunk the organiser submits the hash of its records and a reviewer
   approves it with the records, in one transaction each, which mints all their points.

It is idempotent and resumable: each record is written to the store with the hash of its chunk
before that chunk goes on chain, so a run killed at any point and started again finds every chunk
on chain by its hash, approves what was submitted, skips what was paid, and pays each record once.

Its modules: ``file`` (columns, text, normalised values), ``rows`` (what a plan holds), ``plan``,
``store_checks`` and ``chain_checks`` (planning), ``jobs`` (the run in the store), ``pay`` and
``flight`` (paying). The file format is in docs/issuers-cli.md ("Batch issuance"); an example is
scripts/examples/batch-records.csv.
"""
