"""``vpl council``, ``vpl scheme``, ``vpl role`` and ``vpl rule``: the council and what it
governs."""
