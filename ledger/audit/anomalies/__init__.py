"""Anomaly rules: farming and collusion patterns over a range of blocks, with their evidence;
``detect`` runs them (its docstring names each rule and the module of its family)."""
