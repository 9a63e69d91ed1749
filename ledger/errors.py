"""The one exception hierarchy of the project.

Every error raised by ``ledger`` is a ``LedgerError``; the API (``api/errors.py``) and the CLI
(``scripts/_output.py``, called from ``scripts/cli.py``) each translate them in one place. A message
says what is wrong and what to do next. Contract custom errors are decoded into the leaves below in
one place, ``ledger.chain.revert.RevertDecoder``.

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
    ├── IndexerError                     the event index (ledger.audit.indexer)
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

from __future__ import annotations

from typing import Any, ClassVar


class LedgerError(Exception):
    """Root of every error this project raises on purpose."""

    code: ClassVar[str] = "ledger_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


# --- configuration -----------------------------------------------------------------------------


class ConfigError(LedgerError):
    code = "config_error"


class InsecureDefault(ConfigError):
    code = "insecure_default"


# --- input -------------------------------------------------------------------------------------


class InputError(LedgerError, ValueError):
    code = "invalid_input"


class InvalidAddress(InputError):
    code = "invalid_address"


class InvalidAmount(InputError):
    code = "invalid_amount"


class InvalidIdentity(InputError):
    code = "invalid_identity"


class InvalidPhone(InputError):
    code = "invalid_phone"


class InvalidCursor(InputError):
    code = "invalid_cursor"


class UnknownName(InputError):
    code = "unknown_name"


class InvalidRows(InputError):
    """A file with bad rows: every problem, each with its line number (``details["rows"]``)."""

    code = "invalid_rows"


# --- build and node ----------------------------------------------------------------------------


class SignatureRequired(InputError):
    """A relayed write must be signed by the person first: ``typed_data`` is what they sign (the
    API answers 428); they send the request again with the signature, nonce, deadline and gas."""

    code = "signature_required"


class SignatureMismatch(InputError):
    code = "signature_mismatch"


class AuthorizationExpired(InputError):
    code = "authorization_expired"


class StaleAuthorization(InputError):
    code = "stale_authorization"


class IdempotencyConflict(InputError):
    code = "idempotency_conflict"


class BuildError(LedgerError):
    code = "build_error"


class NodeError(LedgerError):
    code = "node_error"


class NodeAlreadyRunning(NodeError):
    code = "node_already_running"


class NodeNotRunning(NodeError):
    code = "node_not_running"


class StaleNode(NodeError):
    code = "stale_node"


class WrongChain(NodeError):
    """The node answers with another chain id than the network file's: another network's node."""

    code = "wrong_chain"


# --- chain -------------------------------------------------------------------------------------


class ChainError(LedgerError):
    code = "chain_error"


class RetryableChainError(ChainError):
    """The request may not have reached the node; sending the same signed bytes again is safe."""

    code = "chain_unavailable"


class TransactionFailed(ChainError):
    code = "transaction_failed"


class ContractRevert(ChainError):
    """A contract refused a call with a custom error; ``error`` and ``args`` carry it decoded."""

    code = "contract_revert"
    #: Solidity custom error names that decode into this class (see ledger.chain.revert).
    solidity_errors: ClassVar[tuple[str, ...]] = ()

    def __init__(self, message: str, *, error: str, args: dict[str, Any], **details: Any) -> None:
        super().__init__(message, error=error, args=args, **details)
        self.error = error
        self.args_by_name = args


class NotAuthorized(ContractRevert):
    code = "not_authorized"
    solidity_errors: ClassVar[tuple[str, ...]] = (
        "AccessControlUnauthorizedAccount",
        "SchemeUnauthorizedIssuer",
        "RulesUnauthorizedIssuer",
        "CouncilUnauthorizedMember",
        "CouncilOnlySelf",
        "PointsIssuerNotContract",
        "PointsUnauthorizedCaller",
        "MemberUnauthorized",
        "ActivityUnauthorized",
        "ActivityCallerNotRecords",
        "RecordsUnauthorized",
        "RecordsSelfReview",
        "RecordsSecondReviewerSame",
        "ExchangeUnauthorized",
        "ExchangeNotIssuer",
        "ExchangeNotProposer",
        "TimeBankNotMemberOrProxy",
        "TimeBankNotReviewer",
        "TimeBankPartyCannotResolve",
        "GiftsUnauthorized",
        "GiftsNotIssuer",
        "GiftsNotManager",
    )


class NotAMember(ContractRevert):
    code = "not_a_member"
    solidity_errors = (
        "MemberNotRegistered",
        "PointsNotAMember",
        "ActivityMemberNotActive",
        "RecordsMemberNotActive",
        "TimeBankMemberNotActive",
        "GiftsNotAMember",
    )


class MemberFrozen(ContractRevert):
    code = "member_frozen"
    solidity_errors = (
        "MemberIsFrozen",
        "PointsMemberFrozen",
        "TimeBankMemberFrozen",
        "GiftsMemberFrozen",
    )


class AlreadyRegistered(ContractRevert):
    code = "already_registered"
    solidity_errors = ("MemberAlreadyRegistered", "MemberCommitmentInUse")


class UnknownScheme(ContractRevert):
    code = "unknown_scheme"
    solidity_errors = ("SchemeUnknown", "SchemeUnknownCode")


class QuotaExceeded(ContractRevert):
    code = "quota_exceeded"
    solidity_errors = ("PointsQuotaExceeded",)


class InsufficientBalance(ContractRevert):
    code = "insufficient_balance"
    solidity_errors = (
        "ERC1155InsufficientBalance",
        "PointsInsufficientBalance",
        "PointsNotFrozen",
        "TimeBankInsufficientBalance",
        "GiftsFundInsufficient",
    )


class Paused(ContractRevert):
    """The council (or a pauser) stopped a scheme's points, or every scheme's; reads still work."""

    code = "paused"
    solidity_errors = ("PointsPaused",)


class LimitExceeded(ContractRevert):
    """A compliance limit refused it: a maximum balance, a supply limit, an exchange limit."""

    code = "limit_exceeded"
    solidity_errors: ClassVar[tuple[str, ...]] = (
        "PointsMaxBalance",
        "PointsSupplyLimit",
        "ExchangeLimit",
        "ExchangeBelowMinimum",
    )


class EarningRefused(ContractRevert):
    """An anti-farming rule refused a record: out of time order, over a cap, a busy reviewer."""

    code = "earning_refused"
    solidity_errors = (
        "PointsOverlap",
        "PointsCap",
        "PointsCorrectionOverlap",
        "PointsBatchRefused",
        "RecordsApprovalsPerHour",
    )


class InvalidRequest(ContractRevert):
    """The contract refused the values themselves (out of range, malformed, mismatched)."""

    code = "invalid_request"
    solidity_errors: ClassVar[tuple[str, ...]] = (
        "MemberInvalidAddress",
        "MemberInvalidCommitment",
        "MemberInvalidReason",
        "MemberBatchTooLarge",
        "MemberBatchLengthMismatch",
        "SchemeInvalidCode",
        "SchemeInvalidName",
        "SchemeInvalidIssuer",
        "SchemeInvalidValue",
        "SchemeInvalidQuota",
        "SchemeInvalidFlags",
        "SchemeInvalidRole",
        "SchemeInvalidAccount",
        "SchemeTooMany",
        "SchemeCodeInUse",
        "SchemeValueNotAhead",
        "SchemeInvalidPolicy",
        "MemberInvalidProxy",
        "PointsInvalidRecipient",
        "PointsUnknownHold",
        "PointsHoldExceeded",
        "PointsInvalidAmount",
        "PointsInvalidSource",
        "CouncilInvalidThreshold",
        "CouncilInvalidMember",
        "CouncilAlreadyMember",
        "CouncilTooManyMembers",
        "CouncilInvalidProposal",
        "CouncilLengthMismatch",
        "CouncilInvalidTarget",
        "CouncilInvalidLifetime",
        "RulesInvalidRate",
        "RulesInvalidGrades",
        "RulesInvalidCoefficient",
        "RulesInvalidActions",
        "RulesInvalidAction",
        "RulesDuplicateAction",
        "RulesInvalidPoints",
        "RulesUnknownVersion",
        "RulesWrongKind",
        "RulesUnknownGrade",
        "RulesUnknownAction",
        "ActivityUnknown",
        "ActivityInvalidWindow",
        "ActivityInvalidCapacity",
        "ActivityInvalidDetails",
        "ActivityInvalidReason",
        "ActivityOutsideWindow",
        "ActivityWrongScheme",
        "RecordsInvalidLimits",
        "RecordsUnknown",
        "RecordsWrongScheme",
        "RecordsInvalidTimes",
        "RecordsInFuture",
        "RecordsInvalidHash",
        "RecordsActionRequired",
        "RecordsActionNotApplicable",
        "RecordsGradeNotApplicable",
        "RecordsGradeMismatch",
        "RecordsInvalidReason",
        "RecordsBatchUnknown",
        "RecordsBatchInvalidSize",
        "RecordsBatchMismatch",
        "RecordsBatchIndex",
        "ExchangeSameScheme",
        "ExchangeInvalidAmount",
        "ExchangeTooLarge",
        "ExchangeInvalidSettlement",
        "ExchangeSettlementExceedsOwed",
        "ExchangeUnknownSettlement",
        "TimeBankUnknownRequest",
        "TimeBankNotTimeBankScheme",
        "TimeBankInvalidHours",
        "TimeBankInvalidKind",
        "TimeBankInvalidDetails",
        "TimeBankInvalidDeadline",
        "TimeBankInvalidReason",
        "TimeBankSelfHelp",
        "TimeBankSplitExceeded",
        "GiftsInvalidRecipient",
        "GiftsInvalidManager",
        "GiftsInvalidHash",
        "GiftsInvalidAmount",
        "GiftsUnknownFund",
    )


class ExchangeDeclined(ContractRevert):
    """A scheme does not give (exchange-out) or does not accept (exchange-in) exchanges."""

    code = "exchange_declined"
    solidity_errors = ("ExchangeOutDeclined", "ExchangeInDeclined")


class StaleQuote(ContractRevert):
    """A scheme's value changed since the quote: quote again and confirm the new result."""

    code = "stale_quote"
    solidity_errors = ("ExchangeStaleQuote",)


class RelayRefused(ContractRevert):
    """The forwarder refused a relayed (EIP-712 signed) request."""

    code = "relay_refused"
    solidity_errors = (
        "ERC2771ForwarderInvalidSigner",
        "ERC2771ForwarderExpiredRequest",
        "ERC2771ForwarderMismatchedValue",
        "ERC2771UntrustfulTarget",
        "InvalidAccountNonce",
    )


class StateConflict(ContractRevert):
    """The request is valid but the current state forbids it (already done, not applicable)."""

    code = "state_conflict"
    solidity_errors: ClassVar[tuple[str, ...]] = (
        "MemberNotFrozen",
        "MemberAlreadyRecovered",
        "MemberLedgerAlreadyLinked",
        "MemberLedgerNotLinked",
        "MemberNotProxy",
        "MemberProxyExists",
        "SchemeAlreadyPaused",
        "SchemeNotPaused",
        "PointsHoldSettled",
        "RulesKindFixed",
        "PointsSourceAlreadyPaid",
        "PointsTransferNotAllowed",
        "ActivityCancelledAlready",
        "ActivityEnded",
        "ActivityFull",
        "ActivityAlreadyJoined",
        "ActivityNotJoined",
        "ActivityAlreadyRecorded",
        "ActivityRequesterCannotServe",
        "ActivityRecordsAlreadyLinked",
        "RecordsLimitsNotSet",
        "RecordsNoRule",
        "RecordsNotPending",
        "RecordsNotApproved",
        "RecordsCorrectionPending",
        "RecordsBatchKnown",
        "RecordsBatchClosed",
        "RecordsStaleRule",
        "ExchangeSettlementClosed",
        "TimeBankInvalidStatus",
        "TimeBankRequestExpired",
        "GiftsNotAllowed",
    )


class CouncilRefused(ContractRevert):
    code = "council_refused"
    solidity_errors = (
        "CouncilAlreadyApproved",
        "CouncilNotEnoughApprovals",
        "CouncilProposalUnknown",
        "CouncilProposalClosed",
        "CouncilProposalExpired",
        "CouncilNotApproved",
    )


# --- catalogue (redemption): leaves of the branches above -------------------------------------


class CatalogueUnauthorized(NotAuthorized):
    """Not the item's merchant, not the member or their recorded proxy, not the issuer."""

    solidity_errors: ClassVar[tuple[str, ...]] = (
        "CatalogueNotMerchant",
        "CatalogueUnauthorized",
        "CatalogueNotMemberOrProxy",
    )


class CatalogueInvalid(InvalidRequest):
    """An item's or an order's figures out of range, or an unknown item or order."""

    solidity_errors: ClassVar[tuple[str, ...]] = (
        "CatalogueUnknownItem",
        "CatalogueUnknownOrder",
        "CatalogueInvalidPrice",
        "CatalogueInvalidStock",
        "CatalogueInvalidLimit",
        "CatalogueInvalidWindow",
        "CatalogueInvalidPeriod",
        "CatalogueInvalidDetails",
        "CatalogueInvalidQuantity",
        "CatalogueInvalidPoints",
        "CatalogueInvalidFulfilment",
    )


class OrderConflict(StateConflict):
    """The item or the order is not in a state that allows it (delisted, outside its window,
    already fulfilled or cancelled, expired, not yet due)."""

    solidity_errors: ClassVar[tuple[str, ...]] = (
        "CatalogueRedemptionClosed",
        "CatalogueDelisted",
        "CatalogueOutsideWindow",
        "CatalogueOrderNotHeld",
        "CatalogueOrderExpired",
        "CatalogueOrderNotDue",
    )


class SoldOut(StateConflict):
    """Fewer units of the item are left than were asked for; nothing was held."""

    code = "sold_out"
    solidity_errors: ClassVar[tuple[str, ...]] = ("CatalogueSoldOut",)


class PriceChanged(StateConflict):
    """The item's price is not the one the member saw; show the new price and ask again."""

    code = "price_changed"
    solidity_errors: ClassVar[tuple[str, ...]] = ("CataloguePriceChanged",)


class MemberLimitReached(LimitExceeded):
    """The member would hold more units of the item than its per-member limit."""

    solidity_errors: ClassVar[tuple[str, ...]] = ("CatalogueMemberLimit",)


# --- deployment --------------------------------------------------------------------------------


class IndexerError(LedgerError):
    """The event index could not follow the chain or answer a query; not retryable as it is."""

    code = "indexer_error"


class RetryableIndexerError(IndexerError):
    """The chain changed while a sync read it, or the node did not answer: sync again."""

    code = "indexer_retry"


class ReorgTooDeep(IndexerError):
    code = "reorg_too_deep"


class IndexMismatch(IndexerError):
    code = "index_mismatch"


class IndexBehind(IndexerError):
    """A query about blocks the index has not reached; ``details`` say the indexed block, the
    chain head seen at the last sync and how many blocks behind it is."""

    code = "index_behind"


class DeploymentError(LedgerError):
    code = "deployment_error"


class NotDeployed(DeploymentError):
    code = "not_deployed"


class ForeignCode(DeploymentError):
    code = "foreign_code"


class CertificateInvalid(LedgerError):
    """A certificate of service that is altered, forged or no longer backed by the chain; the
    message lists every reason (``details["problems"]``)."""

    code = "certificate_invalid"


# --- off-chain store ---------------------------------------------------------------------------


class AccessDenied(LedgerError, PermissionError):
    """The caller may not see or do this (checked off chain, e.g. unmasked personal data)."""

    code = "access_denied"


class AuthError(LedgerError):
    code = "auth_error"


class NotSignedIn(AuthError):
    code = "not_signed_in"


class SignInRefused(AuthError):
    code = "sign_in_refused"


class WrongPin(AuthError):
    code = "wrong_pin"


class WalletLocked(AuthError):
    code = "wallet_locked"


class TooManyRequests(LedgerError):
    code = "too_many_requests"


class StoreError(LedgerError):
    code = "store_error"


class VaultKeyError(StoreError):
    code = "vault_key_error"


class VaultCorrupt(StoreError):
    """A vault row fails authentication: its bytes were altered or copied from another row."""

    code = "vault_corrupt"


class AlreadyInVault(StoreError):
    """``field`` (``"address"`` or ``"commitment"``) is already held by a row of the vault."""

    code = "already_in_vault"

    def __init__(self, message: str, *, field: str, **details: Any) -> None:
        super().__init__(message, field=field, **details)
        self.field = field


class StatusConflict(StoreError):
    """A row's current ``status`` does not allow the requested change."""

    code = "status_conflict"

    def __init__(self, message: str, *, status: str, **details: Any) -> None:
        super().__init__(message, status=status, **details)
        self.status = status


class DuplicateEvidence(StoreError):
    """The evidence (photos, sign-in sheet) behind a record already backs another record.

    Enforced by the store, not the chain: an evidence hash per record on chain would cost a new
    storage slot per record (over 20,000 gas, more than a whole batch record costs now), and the
    chain cannot tell two hashes of the same photo apart anyway. Each hash is on chain in the
    record's event or its batch's input, so auditors can still find reuse there.
    """

    code = "duplicate_evidence"


class OverlappingService(StoreError):
    """The volunteer already has a record in another scheme for the same time.

    The chain keeps each volunteer's records in time order within a scheme; across schemes only
    the store sees every record, so it refuses the same hours claimed twice.
    """

    code = "overlapping_service"


class RecordNotFound(StoreError, LookupError):
    code = "not_found"
