"""Who acts: members (registration, personal data and who may see it, freezes, recovery), signing
in (with an own key or a custodial wallet's PIN), custodial wallets, and the proxies who act for a
member. The personal data itself is kept encrypted in ``ledger.store.vault``."""
