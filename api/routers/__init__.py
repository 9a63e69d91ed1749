"""The API's routers, one per audience: auth, wallets, members' wallet, issuers, auditors."""
