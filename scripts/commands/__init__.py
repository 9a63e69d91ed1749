"""The command groups of ``vpl``, one package per domain of ``ledger``: ``chain`` (the node, the
validator network, deployment), ``governance`` (council, schemes, roles, rules), ``identity``
(members, proxies), ``earning`` (limits, activities, records, batch issuance, certificates),
``spending`` (balances and controls, exchange and clearing, catalogue, time bank, gifts and funds)
and ``audit`` (the event index, auditors' checks, the store's anchors)."""
