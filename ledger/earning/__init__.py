"""Earning points: activities and tasks, service records and their four-eyes review, batch
issuance from CSV files (run in the background as uploads), and certificates of service.

``service.Earning`` composes the services of one ledger (``ledger.earning``): ``refusals``,
``limits``, ``activities``, ``details`` (the store's half of records), ``submissions``,
``review`` and ``reading``. ``batch`` (a package) plans and pays CSV files, ``uploads`` runs them
as background jobs, ``chunks`` links batch chunks in the store to the chain, and
``certificates`` (a package) issues and verifies certificates. Each service names what it uses of
the ledger as a Protocol (``parts``), which the ``Ledger`` satisfies.
"""
