"""``vpl index`` and ``vpl audit``: the event index and the auditors' commands."""
