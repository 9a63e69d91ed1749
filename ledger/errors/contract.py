"""A contract's refusal, its custom error decoded (``ledger.chain.revert``) into one of these
leaves: each names the Solidity errors that decode into it."""

from __future__ import annotations

from typing import Any, ClassVar

from ledger.errors.chain import ChainError


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


# --- catalogue (redemption): leaves of the branches above --------------------------------------


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
