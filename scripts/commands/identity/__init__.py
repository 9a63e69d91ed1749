"""``vpl member`` and ``vpl proxy``: who members are and who acts for them."""
