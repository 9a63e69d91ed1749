"""Governance: what the council decides and what a scheme's issuer sets, as people ask for it.
The council's proposals (``council``), the schemes and their terms (``schemes``), the earning rules
(``rules``) and the roles (``roles``). Each service is built from the contract clients it needs; the
domains above read schemes and roles through them."""
