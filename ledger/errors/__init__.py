"""The one exception hierarchy of the project.

Every error raised by ``ledger`` is a ``LedgerError``; the API (``api/errors.py``) and the CLI
(``scripts/output.py``, called from ``scripts/cli.py``) each translate them in one place. A message
says what is wrong and what to do next. Contract custom errors are decoded into the leaves below in
one place, ``ledger.chain.revert.RevertDecoder``. The classes are imported from here; they live in
``base`` (the root, settings, input), ``chain`` (build, nodes, transactions, deployment, the event
index), ``contract`` (contract refusals, each with the Solidity errors it stands for) and
``offchain`` (access, sign-in, rate limits, certificates, the store).

    LedgerError
    ├── ConfigError                      settings or a config file is missing or invalid
    │   └── InsecureDefault              a development secret used outside development
    ├── InputError (ValueError)          bad input caught before anything is sent
    │   ├── InvalidAddress
    │   ├── InvalidAmount
    │   ├── InvalidIdentity              an ID number that is not a valid resident ID
    │   ├── InvalidPhone                 not a mainland mobile number
    │   ├── InvalidCursor                a pagination cursor the index did not give, or damaged
    │   ├── UnknownName                  an unknown scheme code, role or account name
    │   ├── InvalidRows                  a CSV file with bad rows (all of them, with line numbers)
    │   ├── SignatureRequired            a relayed write must be signed first (typed data attached)
    │   ├── SignatureMismatch            the signature is not the signer's for this exact request
    │   ├── AuthorizationExpired         a signed request or a sign-in challenge past its deadline
    │   ├── StaleAuthorization           signed with a nonce another request has used since
    │   └── IdempotencyConflict          an Idempotency-Key reused for a different request
    ├── BuildError                       the Solidity compiler failed or cannot be run
    ├── NodeError                        starting, stopping or attaching to a chain node
    │   ├── NodeAlreadyRunning           a node (ours or a stranger's) already holds the port
    │   ├── NodeNotRunning
    │   ├── StaleNode                    a pid file left by a crash, or an unknown process on the port
    │   └── WrongChain                   the node runs another chain id than the network file says
    ├── ChainError                       talking to the chain
    │   ├── RetryableChainError          the connection dropped, a timeout: safe to retry
    │   ├── TransactionFailed            mined but reverted without a known reason
    │   └── ContractRevert               a contract refused, with its custom error decoded
    │       ├── NotAuthorized            (AccessControlUnauthorizedAccount, ...NotIssuer, ...)
    │       │   └── CatalogueUnauthorized  not the item's merchant, not the member or their proxy
    │       ├── NotAMember               (MemberNotRegistered, PointsNotAMember)
    │       ├── MemberFrozen
    │       ├── AlreadyRegistered        (MemberAlreadyRegistered, MemberCommitmentInUse)
    │       ├── UnknownScheme            (SchemeUnknown)
    │       ├── QuotaExceeded            (PointsQuotaExceeded)
    │       ├── InsufficientBalance      (ERC1155InsufficientBalance, PointsInsufficientBalance)
    │       ├── Paused                   (PointsPaused: a scheme or every scheme paused)
    │       ├── LimitExceeded            (maximum balance, supply limit, exchange limits, minimum)
    │       │   └── MemberLimitReached     over a catalogue item's per-member limit
    │       ├── ExchangeDeclined         (a scheme does not give or accept exchanges)
    │       ├── StaleQuote               (a value changed since the exchange was quoted)
    │       ├── EarningRefused           (anti-farming: overlap, caps, approvals per hour)
    │       ├── InvalidRequest           (the contract's own input checks: *Invalid*, *Mismatch*)
    │       │   └── CatalogueInvalid       an item's or order's figures, an unknown item or order
    │       ├── StateConflict            (already done or not applicable: MemberNotFrozen, ...)
    │       │   ├── OrderConflict          delisted, outside the window, order not held, expired
    │       │   ├── SoldOut                fewer units left than asked for
    │       │   └── PriceChanged           the price is not the one the member saw
    │       ├── RelayRefused             (the ERC-2771 forwarder refused a signed request)
    │       └── CouncilRefused           (Council* errors: too few approvals, approved twice, ...)
    ├── IndexerError                     the event index (ledger.audit.index)
    │   ├── RetryableIndexerError        the chain moved under a sync, or the node dropped: run again
    │   ├── ReorgTooDeep                 a reorg deeper than the blocks kept: index again from scratch
    │   ├── IndexMismatch                the index was built from another chain or deployment
    │   └── IndexBehind                  asked about blocks the index has not reached (says how far)
    ├── DeploymentError                  the manifest and the chain disagree
    │   ├── NotDeployed
    │   └── ForeignCode                  code at a manifest address is not ours
    ├── AccessDenied (PermissionError)   not allowed off chain (unmasked personal data, a role)
    ├── AuthError                        who is calling could not be established
    │   ├── NotSignedIn                  no token, or an expired or revoked one
    │   ├── SignInRefused                a sign-in signature: wrong signer, chain, domain, replayed
    │   ├── WrongPin                     a custodial wallet's PIN or password is wrong
    │   └── WalletLocked                 too many wrong PINs: locked until a stated time
    ├── TooManyRequests                  over the rate limit (retry after a stated time)
    ├── RequestInProgress                an Idempotency-Key's first attempt still runs (retry later)
    ├── CertificateInvalid               a certificate that fails verification (reasons listed)
    └── StoreError                       the off-chain store
        ├── VaultKeyError                the vault key is missing or wrong
        ├── VaultCorrupt                 a vault row fails authentication: tampered or moved
        ├── AlreadyInVault               the address or the identity commitment is already stored
        ├── StatusConflict               the row's status does not allow this change
        ├── DuplicateEvidence            an evidence hash already backs another record
        ├── OverlappingService           the same hours already claimed in another scheme
        └── RecordNotFound (LookupError)
"""

from ledger.errors.base import (
    AuthorizationExpired,
    ConfigError,
    IdempotencyConflict,
    InputError,
    InsecureDefault,
    InvalidAddress,
    InvalidAmount,
    InvalidCursor,
    InvalidIdentity,
    InvalidPhone,
    InvalidRows,
    LedgerError,
    SignatureMismatch,
    SignatureRequired,
    StaleAuthorization,
    UnknownName,
)
from ledger.errors.chain import (
    BuildError,
    ChainError,
    DeploymentError,
    ForeignCode,
    IndexBehind,
    IndexerError,
    IndexMismatch,
    NodeAlreadyRunning,
    NodeError,
    NodeNotRunning,
    NotDeployed,
    ReorgTooDeep,
    RetryableChainError,
    RetryableIndexerError,
    StaleNode,
    TransactionFailed,
    WrongChain,
)
from ledger.errors.contract import (
    AlreadyRegistered,
    CatalogueInvalid,
    CatalogueUnauthorized,
    ContractRevert,
    CouncilRefused,
    EarningRefused,
    ExchangeDeclined,
    InsufficientBalance,
    InvalidRequest,
    LimitExceeded,
    MemberFrozen,
    MemberLimitReached,
    NotAMember,
    NotAuthorized,
    OrderConflict,
    Paused,
    PriceChanged,
    QuotaExceeded,
    RelayRefused,
    SoldOut,
    StaleQuote,
    StateConflict,
    UnknownScheme,
)
from ledger.errors.offchain import (
    AccessDenied,
    AlreadyInVault,
    AuthError,
    CertificateInvalid,
    DuplicateEvidence,
    NotSignedIn,
    OverlappingService,
    RecordNotFound,
    RequestInProgress,
    SignInRefused,
    StatusConflict,
    StoreError,
    TooManyRequests,
    VaultCorrupt,
    VaultKeyError,
    WalletLocked,
    WrongPin,
)

__all__ = [
    "AccessDenied",
    "AlreadyInVault",
    "AlreadyRegistered",
    "AuthError",
    "AuthorizationExpired",
    "BuildError",
    "CatalogueInvalid",
    "CatalogueUnauthorized",
    "CertificateInvalid",
    "ChainError",
    "ConfigError",
    "ContractRevert",
    "CouncilRefused",
    "DeploymentError",
    "DuplicateEvidence",
    "EarningRefused",
    "ExchangeDeclined",
    "ForeignCode",
    "IdempotencyConflict",
    "IndexBehind",
    "IndexMismatch",
    "IndexerError",
    "InputError",
    "InsecureDefault",
    "InsufficientBalance",
    "InvalidAddress",
    "InvalidAmount",
    "InvalidCursor",
    "InvalidIdentity",
    "InvalidPhone",
    "InvalidRequest",
    "InvalidRows",
    "LedgerError",
    "LimitExceeded",
    "MemberFrozen",
    "MemberLimitReached",
    "NodeAlreadyRunning",
    "NodeError",
    "NodeNotRunning",
    "NotAMember",
    "NotAuthorized",
    "NotDeployed",
    "NotSignedIn",
    "OrderConflict",
    "OverlappingService",
    "Paused",
    "PriceChanged",
    "QuotaExceeded",
    "RecordNotFound",
    "RelayRefused",
    "ReorgTooDeep",
    "RequestInProgress",
    "RetryableChainError",
    "RetryableIndexerError",
    "SignInRefused",
    "SignatureMismatch",
    "SignatureRequired",
    "SoldOut",
    "StaleAuthorization",
    "StaleNode",
    "StaleQuote",
    "StateConflict",
    "StatusConflict",
    "StoreError",
    "TooManyRequests",
    "TransactionFailed",
    "UnknownName",
    "UnknownScheme",
    "VaultCorrupt",
    "VaultKeyError",
    "WalletLocked",
    "WrongChain",
    "WrongPin",
]
