"""``vpl limits``, ``vpl activity``, ``vpl record``, ``vpl issue``, ``vpl certificate`` and
``vpl verify``: earning points, and certifying them."""
