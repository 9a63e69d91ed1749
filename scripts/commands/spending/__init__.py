"""``vpl balance``, ``vpl points``, ``vpl exchange``, ``vpl clearing``, ``vpl catalogue``,
``vpl redeem``, ``vpl order``, ``vpl timebank``, ``vpl gift`` and ``vpl fund``: spending points."""
