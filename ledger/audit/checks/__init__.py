"""Auditors' checks over the chain and the event index: a scheme's supply reconciled and over time
(``supply``), quota use per period (``quota``), a member's file (``members``), and the explorer's
search (``search``)."""
