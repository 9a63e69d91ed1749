"""Who is calling and for whom: signing in, custodial wallets, members and their proxies."""
