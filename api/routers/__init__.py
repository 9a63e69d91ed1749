"""The API's routers, by the ledger's domains (as ``ledger/`` and the CLI's commands are):
identity, earning, spending, governance and audit; one module per resource, each a thin shell."""
