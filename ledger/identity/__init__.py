"""Who acts: signing in (with an own key or a custodial wallet's PIN), custodial wallets, and the
proxies who act for a member. Real-name data itself is in ``ledger.store.vault``."""
