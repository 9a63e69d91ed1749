"""What each contract custom error means for a person, and what to do next: the message
templates, and the words for the numbers an error's arguments carry (statuses, problems, limit
kinds, grades, times, standard-unit values). ``ledger.chain.revert`` decodes; this says it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ledger.values import GRADE_LETTERS

#: What each custom error means for a person, and what to do next. `{name}` fields are the
#: error's own arguments.
MESSAGES: dict[str, str] = {
    # OpenZeppelin
    "AccessControlUnauthorizedAccount": "{account} lacks the role {neededRole_name}; "
    "a council proposal can grant it (`vpl role grant`)",
    "ERC1155InsufficientBalance": "{sender} holds {balance} of scheme {tokenId}, "
    "fewer than the {needed} needed",
    # OpenZeppelin ERC-2771 forwarder (relayed requests)
    "ERC2771ForwarderInvalidSigner": "the relayed request names {from} but was signed by {signer}; "
    "it was altered or signed for another chain",
    "ERC2771ForwarderExpiredRequest": "the relayed request expired at {deadline}; sign a new one",
    "ERC2771ForwarderMismatchedValue": "the relayed request carries {requestedValue} but "
    "{msgValue} was sent",
    "ERC2771UntrustfulTarget": "{target} does not trust the forwarder {forwarder}",
    "InvalidAccountNonce": "the relayed request's nonce is stale for {account} "
    "(expected {currentNonce}); it was already used",
    "FailedInnerCall": "a called contract refused without giving a reason",
    # Council
    "CouncilUnauthorizedMember": "{account} is not a council member (or not the proposer)",
    "CouncilOnlySelf": "this action can only run through an approved council proposal",
    "CouncilProposalUnknown": "there is no proposal {proposalId}; list them with `vpl council list`",
    "CouncilProposalClosed": "proposal {proposalId} is already executed or cancelled",
    "CouncilProposalExpired": "proposal {proposalId} expired at {deadline}; propose it again",
    "CouncilAlreadyApproved": "{member} has already approved proposal {proposalId}",
    "CouncilNotApproved": "{member} has not approved proposal {proposalId}",
    "CouncilNotEnoughApprovals": "proposal {proposalId} has {approvals} of the {threshold} "
    "approvals it needs; more council members must approve it first",
    "CouncilInvalidThreshold": "a threshold of {threshold} does not fit a council of {members}",
    "CouncilInvalidMember": "{account} cannot be a council member here",
    "CouncilAlreadyMember": "{account} already has a council seat",
    "CouncilTooManyMembers": "the council cannot have more than {maxMembers} members",
    "CouncilInvalidProposal": "a proposal needs 1 to {maxCalls} calls (got {calls})",
    "CouncilLengthMismatch": "{targets} targets but {calldatas} calls were given",
    "CouncilInvalidTarget": "{target} is not a contract",
    "CouncilInvalidLifetime": "a proposal lifetime of {lifetime}s is too short",
    # Members
    "MemberInvalidAddress": "{account} cannot be a member address",
    "MemberInvalidCommitment": "the identity commitment is empty",
    "MemberAlreadyRegistered": "{account} is already registered",
    "MemberCommitmentInUse": "this person is already registered, as {holder}; one person holds "
    "one member account (use recovery for a lost key)",
    "MemberNotRegistered": "{account} is not a registered member; register it first",
    "MemberIsFrozen": "{account} is frozen (reason {reason})",
    "MemberNotFrozen": "{account} is not frozen",
    "MemberInvalidReason": "a reason code must be 1-65535 (got {reason})",
    "MemberAlreadyRecovered": "{account} was recovered to {successor}; use the new address",
    "MemberBatchTooLarge": "a registration batch holds at most {maxSize} (got {size})",
    "MemberBatchLengthMismatch": "{accounts} accounts but {commitments} commitments were given",
    "MemberLedgerAlreadyLinked": "the member registry is already linked to {ledger}",
    # Schemes
    "SchemeUnknown": "there is no scheme {schemeId}; list them with `vpl scheme list`",
    "SchemeUnknownCode": "there is no scheme with code {code_text}; list them with `vpl scheme list`",
    "SchemeCodeInUse": "the scheme code {code_text} is taken by scheme {schemeId}",
    "SchemeInvalidCode": "a scheme code is 1-16 characters of A-Z, 0-9, '-' or '_', starting with a letter",
    "SchemeInvalidName": "a scheme name and unit must be 1-96 bytes",
    "SchemeInvalidIssuer": "{issuer} cannot be an issuer",
    "SchemeInvalidValue": "a scheme's unit value must be positive (got {unitValue})",
    "SchemeInvalidQuota": "a quota must be 1..2^128-1 per period of at least an hour "
    "(got {quota} per {quotaPeriod}s)",
    "SchemeInvalidFlags": "unknown scheme flags {flags}",
    "SchemeInvalidRole": "{role_name} is not a scheme role (reviewer, merchant, organiser)",
    "SchemeInvalidAccount": "{account} cannot hold a scheme role",
    "SchemeUnauthorizedIssuer": "{account} is not the issuer of scheme {schemeId}",
    "SchemeTooMany": "the registry holds at most {maxSchemes} schemes",
    "SchemeValueNotAhead": "a new value applies from a later block than now ({blockNumber}); "
    "block {fromBlock} is not ahead (values never change retroactively)",
    "SchemeInvalidPolicy": "a scheme's expiry is at most 1200 months",
    "SchemeAlreadyPaused": "scheme {schemeId} is already paused (0: every scheme)",
    "SchemeNotPaused": "scheme {schemeId} is not paused (0: every scheme)",
    # Earning rules
    "RulesUnauthorizedIssuer": "{account} is not the issuer of scheme {schemeId} and may not "
    "publish its rules",
    "RulesInvalidRate": "points per hour must be 1-1,000,000 (got {pointsPerHour})",
    "RulesInvalidGrades": "a duration rule has 1 to {maxGrades} grades (got {count})",
    "RulesInvalidCoefficient": "grade {grade_letter}'s coefficient must be 1-10000 thousandths "
    "(got {coefficient})",
    "RulesInvalidActions": "a fixed-point rule has 1 to {maxActions} actions, each with points "
    "(got {actions} actions and {points} point values)",
    "RulesInvalidAction": "an action type is 1-32 characters of a-z, 0-9, '_' or '-'",
    "RulesDuplicateAction": "action type {action_text} appears twice",
    "RulesInvalidPoints": "action {action_text} must earn 1-1,000,000,000 points (got {points})",
    "RulesUnknownVersion": "scheme {schemeId} has no rule version {version}",
    "RulesWrongKind": "rule version {version} of scheme {schemeId} is not of that kind",
    "RulesKindFixed": "scheme {schemeId} values service by {kind_name} rules; a scheme keeps the "
    "kind of its first rule",
    "RulesUnknownGrade": "rule version {version} of scheme {schemeId} has no grade {grade_letter}",
    "RulesUnknownAction": "rule version {version} of scheme {schemeId} has no action {action_text}",
    # Catalogue (redemption)
    "CatalogueUnknownItem": "there is no catalogue item {itemId}; list them with `vpl catalogue list`",
    "CatalogueUnknownOrder": "there is no order {orderId}; list them with `vpl order list`",
    "CatalogueRedemptionClosed": "scheme {schemeId} does not allow redemption (its flags lack "
    "'redemption')",
    "CatalogueNotMerchant": "{account} is not this item's merchant or not a merchant of scheme "
    "{schemeId}; the scheme's issuer grants the role (`vpl role grant merchant`)",
    "CatalogueUnauthorized": "{account} may not change item {itemId} (its merchant may; the "
    "scheme's issuer or the council may delist it)",
    "CatalogueNotMemberOrProxy": "{account} is neither {member} nor a proxy recorded for them; "
    "the member (or a registrar) grants a proxy first",
    "CatalogueInvalidPrice": "a price must be 1..2^88-1 points a unit (got {price})",
    "CatalogueInvalidStock": "stock must be 1..1,000,000 units when listed, 0..1,000,000 after "
    "(got {stock})",
    "CatalogueInvalidLimit": "the per-member limit must be 1..1,000,000 units (got {perMember})",
    "CatalogueInvalidWindow": "the window must end after it starts and in the future "
    "({availableFrom_time} - {availableUntil_time})",
    "CatalogueInvalidPeriod": "the collection period must be 1 second to 366 days "
    "(got {collectionPeriod}s)",
    "CatalogueInvalidDetails": "an item needs the hash of its details (name, description, place)",
    "CatalogueInvalidQuantity": "a quantity must be 1..1,000,000 (got {quantity})",
    "CatalogueInvalidPoints": "the order would hold {points} points, more than one order can hold",
    "CatalogueInvalidFulfilment": "fulfilling needs the hash of the fulfilment code",
    "CatalogueDelisted": "item {itemId} is delisted",
    "CatalogueOutsideWindow": "item {itemId} can be redeemed only from {availableFrom_time} until "
    "{availableUntil_time}",
    "CataloguePriceChanged": "item {itemId} costs {price} points a unit now, not the {expected} "
    "the member saw; show the member the new price and ask again",
    "CatalogueSoldOut": "item {itemId} is sold out: {stock} left, {requested} asked for; no points "
    "were held",
    "CatalogueMemberLimit": "{member} already has {taken} of item {itemId}; {requested} more would "
    "pass the limit of {perMember} a member",
    "CatalogueOrderNotHeld": "order {orderId} is already {status_name}; only a held order can be "
    "fulfilled, cancelled or expired",
    "CatalogueOrderExpired": "order {orderId}'s collection period ended at {expiresAt_time}; it "
    "can only expire now (`vpl order expire`), and the points return",
    "CatalogueOrderNotDue": "order {orderId} can be collected until {expiresAt_time}; it expires "
    "only after that",
    # Points
    "PointsNotAMember": "{account} is not an active member and cannot hold or move points",
    "PointsMemberFrozen": "{account} is frozen and cannot hold or move points",
    "PointsTransferNotAllowed": "points cannot be transferred freely; use the scheme's own "
    "operations (gift, exchange, redeem)",
    "PointsInvalidAmount": "an amount must be 1..2^88-1 and fit the balance (got {amount})",
    "PointsInvalidSource": "issued points need a source (the record behind them)",
    "PointsQuotaExceeded": "scheme {schemeId} has {remaining} points of quota left in this "
    "period, fewer than the {requested} requested",
    "PointsUnauthorizedCaller": "{caller} may not call this",
    "PointsSourceAlreadyPaid": "points were already issued for source {source}; a service is paid once",
    "MemberLedgerNotLinked": "the member registry is not linked to a points ledger; redeploy",
    "MemberInvalidProxy": "{proxy} cannot be a proxy (not the zero address, not the member)",
    "MemberNotProxy": "{proxy} is not a recorded proxy of {member}",
    "MemberProxyExists": "{proxy} is already a recorded proxy of {member}",
    "MemberUnauthorized": "{account} is neither the member, nor their proxy, nor a registrar",
    "PointsPaused": "the points of scheme {schemeId} are paused (0: every scheme) by the council; "
    "reads work, nothing can move until it is resumed",
    "PointsMaxBalance": "{member} would hold {balance} points of scheme {schemeId}, over the "
    "scheme's maximum balance of {maxBalance}",
    "PointsSupplyLimit": "scheme {schemeId} has {supply} points in existence; {requested} more "
    "would pass its supply limit of {limit}",
    "PointsInvalidRecipient": "{account} cannot receive these points (not an active member, or "
    "the sender)",
    "PointsHoldExceeded": "hold {holdId} holds {amount} points, fewer than the {requested} to settle",
    "PointsNotFrozen": "{member} has {frozen} frozen points of scheme {schemeId}, fewer than the "
    "{requested} to release",
    "PointsIssuerNotContract": "{account} is a plain key: only contracts (service records, exchange) "
    "may issue points, so that no points exist without an approved record behind them",
    "PointsInsufficientBalance": "{member} holds {balance} points of scheme {schemeId}, fewer than "
    "the {needed} needed",
    "PointsOverlap": "{member}'s service starting {start_time} begins before the end of their latest "
    "paid service ({lastEnd_time}); one volunteer's records never overlap and are paid in time order",
    "PointsCap": "{member} would exceed the scheme's limit of {cap} {problem_name}",
    "PointsCorrectionOverlap": "a correction may shorten a service, or lengthen only {member}'s "
    "latest one; {start_time}-{end_time} would reach into another paid service",
    "PointsBatchRefused": "record {index} of the batch (counting from 0) is refused: {problem_name} "
    "({detail})",
    # Gifts and community funds
    "GiftsNotAllowed": "scheme {schemeId} does not allow gifts; its issuer can ask the council to "
    "allow them (`vpl council propose flags`)",
    "GiftsUnauthorized": "{sender} is neither {member} nor a recorded proxy of {member}; the member "
    "(or a registrar) records a proxy first",
    "GiftsNotIssuer": "{account} is neither the issuer of scheme {schemeId} nor the council",
    "GiftsNotManager": "{account} is not the manager of fund {fundId}; only its manager grants from it",
    "GiftsNotAMember": "{account} is not an active member and cannot give or receive points",
    "GiftsMemberFrozen": "{account} is frozen and cannot give or receive points",
    "GiftsInvalidRecipient": "{account} cannot receive these points here (the giver themselves, or "
    "the fund's own manager)",
    "GiftsInvalidManager": "{manager} cannot manage this fund (the zero address, or its manager already)",
    "GiftsInvalidHash": "the hash of the fund's details or of the grant's purpose is missing",
    "GiftsInvalidAmount": "an amount must be 1..2^88-1 points (got {amount})",
    "GiftsUnknownFund": "there is no fund {fundId}; list them with `vpl fund list`",
    "GiftsFundInsufficient": "fund {fundId} holds {balance} points, fewer than the {requested} to grant",
    # Activities
    "ActivityUnknown": "there is no activity {activityId}",
    "ActivityUnauthorized": "{account} is neither the issuer nor an organiser of scheme {schemeId}",
    "ActivityInvalidWindow": "an activity runs from a start to a later end (at most a year) that "
    "is still ahead (got {start_time} to {end_time})",
    "ActivityInvalidCapacity": "capacity must be 1-{maxCapacity} (got {capacity})",
    "ActivityInvalidDetails": "an activity needs the hash of its details",
    "ActivityInvalidReason": "a reason code must be 1-65535 (got {reason})",
    "ActivityCancelledAlready": "activity {activityId} is cancelled",
    "ActivityEnded": "activity {activityId} ended at {end_time}; nobody can join it now",
    "ActivityFull": "activity {activityId} is full ({capacity} places)",
    "ActivityAlreadyJoined": "{member} has already joined activity {activityId}",
    "ActivityNotJoined": "{member} has not joined activity {activityId}; sign up (or be assigned) first",
    "ActivityAlreadyRecorded": "{member} already has a record for activity {activityId}",
    "ActivityRequesterCannotServe": "{member} asked for this help and cannot also serve it",
    "ActivityMemberNotActive": "{member} is not an active member",
    "ActivityOutsideWindow": "the service {start_time}-{end_time} is outside activity {activityId}'s "
    "time window",
    "ActivityWrongScheme": "activity {activityId} belongs to scheme {schemeId}, not {expected}",
    "ActivityCallerNotRecords": "{caller} is not the service-records contract",
    "ActivityRecordsAlreadyLinked": "activities are already linked to {records}",
    # Service records
    "RecordsUnauthorized": "{account} has no role in scheme {schemeId} that allows this",
    "RecordsLimitsNotSet": "scheme {schemeId} has no anti-farming limits yet; its issuer sets "
    "them first (`vpl limits set`)",
    "RecordsInvalidLimits": "limits must all be set: records/day 1-63, minutes/day 1-1440, "
    "points/day 1-268,435,455, points/week 1-68,719,476,735, approvals/hour >= 1, "
    "late working days 1-60",
    "RecordsNoRule": "scheme {schemeId} has no earning rule yet; its issuer publishes one first",
    "RecordsUnknown": "there is no service record {recordId}",
    "RecordsWrongScheme": "activity {activityId} is not an activity of scheme {schemeId}",
    "RecordsInvalidTimes": "a service runs from a start to an end no more than a day later (at "
    "least a minute for a duration rule); got {start_time} to {end_time}",
    "RecordsInFuture": "the service ends {end_time}, which has not happened yet",
    "RecordsInvalidHash": "a record needs the hashes of its details and its evidence",
    "RecordsActionRequired": "this scheme pays fixed-point actions: the record must name its action",
    "RecordsActionNotApplicable": "this scheme pays by duration: a record names no action",
    "RecordsGradeNotApplicable": "fixed-point actions are not graded (grade must be A)",
    "RecordsMemberNotActive": "{member} is not an active member",
    "RecordsSelfReview": "{reviewer} submitted or earns this record and may not review it "
    "(four-eyes review)",
    "RecordsSecondReviewerSame": "a late record needs a second approval by another reviewer than "
    "{reviewer}",
    "RecordsGradeMismatch": "the first approval gave grade {first_letter}; the second approval "
    "must agree (or reject the record)",
    "RecordsNotPending": "record {recordId} is {status_name}, not awaiting review",
    "RecordsNotApproved": "record {recordId} is {status_name}; only an approved record can be "
    "corrected",
    "RecordsCorrectionPending": "record {recordId} already has correction {correction} awaiting review",
    "RecordsInvalidReason": "a reason code must be 1-65535 (got {reason})",
    "RecordsApprovalsPerHour": "these approvals would take {reviewer} past the cap of {cap} "
    "approvals an hour (anti-farming caps how fast one reviewer approves); approve fewer now, "
    "or the rest next hour",
    "RecordsBatchUnknown": "there is no batch {batchId}",
    "RecordsBatchKnown": "these records were already submitted, as batch {batchId}",
    "RecordsBatchInvalidSize": "a batch holds 1 to {maxCount} records (got {count})",
    "RecordsBatchClosed": "batch {batchId} is {batch_status_name}, not awaiting review",
    "RecordsBatchMismatch": "the records given are not the ones submitted as batch {batchId}",
    "RecordsBatchIndex": "batch {batchId} has {count} records; there is no record #{index}",
    "RecordsStaleRule": "the rule in force is version {current}, not {given}; review the batch "
    "again under the current rule",
    # Exchange and clearing (values in thousandths of the city standard unit, shown as units)
    "ExchangeUnauthorized": "{sender} may not exchange for {member}: only the member or a proxy "
    "the member (or a registrar) recorded may",
    "ExchangeSameScheme": "an exchange goes from one scheme into another (both are scheme {schemeId})",
    "ExchangeInvalidAmount": "an amount to exchange must be 1..2^88-1 points (got {amount})",
    "ExchangeTooLarge": "the exchange would create {out} points, more than the {maximum} one "
    "exchange may; exchange less",
    "ExchangeOutDeclined": "scheme {schemeId} does not give exchanges: its points cannot be "
    "exchanged into other schemes",
    "ExchangeInDeclined": "scheme {schemeId} does not accept exchanges: points of other schemes "
    "cannot be exchanged into it",
    "ExchangeBelowMinimum": "the exchange is worth {value_csu} standard units, below the minimum "
    "of {minValue_csu} for exchanges out of scheme {schemeId} (and at least one point must come "
    "out); exchange more",
    "ExchangeLimit": "the {limitKind_name} exchange limit of scheme {schemeId} is {limit_csu} "
    "standard units; {used_csu} are used and this exchange is worth {requested_csu}",
    "ExchangeStaleQuote": "the quote is stale: it used values {quotedFromValue_csu} (scheme "
    "{fromScheme}) and {quotedToValue_csu} (scheme {toScheme}), now in force are "
    "{fromValue_csu} and {toValue_csu}; quote again and confirm the new result",
    "ExchangeNotIssuer": "{account} is not the issuer of scheme {schemeId}: a settlement is "
    "recorded by the payer scheme's issuer and confirmed by the payee scheme's",
    "ExchangeInvalidSettlement": "a settlement is between two different schemes, of a positive "
    "amount, with a payment reference (got {amount} from scheme {payerScheme} to {payeeScheme})",
    "ExchangeSettlementExceedsOwed": "scheme {payerScheme} owes scheme {payeeScheme} "
    "{owed_csu} standard units not yet covered by pending settlements; {amount_csu} is more",
    "ExchangeUnknownSettlement": "there is no settlement {settlementId}; list them with "
    "`vpl clearing list`",
    "ExchangeSettlementClosed": "settlement {settlementId} is {status_name}, no longer pending",
    "ExchangeNotProposer": "only {proposer}, who recorded settlement {settlementId}, may cancel it "
    "({account} may not)",
    # Time bank
    "TimeBankUnknownRequest": "there is no time-bank request {requestId}; list them with "
    "`vpl timebank list`",
    "TimeBankNotTimeBankScheme": "scheme {schemeId} is not a time-bank scheme (its points are not "
    "hours of help)",
    "TimeBankInvalidHours": "a request offers 1 to {maxHours} hours (got {hoursOffered})",
    "TimeBankInvalidKind": "a request names its kind of service (got {kind})",
    "TimeBankInvalidDetails": "a request needs the hash of its details",
    "TimeBankInvalidDeadline": "the deadline {deadline_time} has already passed (now "
    "{blockTime_time}); give a later one, or none",
    "TimeBankInvalidReason": "a dispute reason code must be 1-65535 (got {reason})",
    "TimeBankNotMemberOrProxy": "{account} is neither {member} nor a recorded proxy of them; a "
    "registrar records a proxy with `vpl proxy grant`",
    "TimeBankMemberNotActive": "{member} is not an active member",
    "TimeBankMemberFrozen": "{member} is frozen and cannot use the time bank until unfrozen",
    "TimeBankInsufficientBalance": "{member} has {available} hours of scheme {schemeId} available, "
    "fewer than the {needed} offered",
    "TimeBankInvalidStatus": "request {requestId} is {request_status_name}; this is not possible now",
    "TimeBankSelfHelp": "{helper} posted request {requestId} and cannot also accept it",
    "TimeBankRequestExpired": "request {requestId} could be accepted only until {deadline_time}",
    "TimeBankNotReviewer": "{account} is not a reviewer of scheme {schemeId} and cannot settle its "
    "disputes",
    "TimeBankPartyCannotResolve": "{account} is a party to request {requestId} (or a proxy of one) "
    "and cannot settle its dispute",
    "TimeBankSplitExceeded": "request {requestId} holds {hoursHeld} hours; {helperHours} cannot go "
    "to the helper",
}

#: IExchange.LimitKind, as people say it.
LIMIT_KINDS = ("member's daily", "member's monthly", "scheme's daily out", "scheme's daily in")
SETTLEMENT_STATUSES = ("unknown", "pending", "confirmed", "cancelled")
#: Arguments of the exchange's errors that are values in thousandths of the standard unit.
_VALUE_ARGS = {
    "value",
    "minValue",
    "used",
    "requested",
    "limit",
    "owed",
    "amount",
    "quotedFromValue",
    "quotedToValue",
    "fromValue",
    "toValue",
}

#: IPointsLedger.Problem, as people say it.
PROBLEMS = (
    "no problem",
    "the volunteer is the reviewer or the submitter (four-eyes review)",
    "invalid times (end before start, over a day, or under a minute)",
    "the service has not ended yet",
    "entered late: it needs a second approval (submit it on its own)",
    "the volunteer is not an active member",
    "it starts before the end of the volunteer's latest paid service",
    "records per day",
    "minutes of service per day",
    "points per day",
    "points per week",
    "an unknown grade",
    "an unknown action",
)
RECORD_STATUSES = (
    "unknown",
    "pending",
    "awaiting a second approval",
    "approved",
    "rejected",
    "superseded",
)
BATCH_STATUSES = ("unknown", "submitted", "approved", "rejected")
ORDER_STATUSES = ("unknown", "held", "fulfilled", "cancelled", "expired")
#: ITimeBank.Status, as people say it.
REQUEST_STATUSES = ("unknown", "open", "accepted", "disputed", "completed", "resolved", "cancelled")


def message(name: str, args: dict[str, Any], role_names: Mapping[bytes, str]) -> str:
    """The message of custom error `name` with its decoded `args`: its template filled in, the
    numbers named as people say them (a grade letter, a status, a time, a role); the bare error
    and its arguments where there is no template."""
    template = MESSAGES.get(name)
    fields = dict(args)
    if isinstance(args.get("grade"), int) and 0 <= args["grade"] < len(GRADE_LETTERS):
        fields["grade_letter"] = GRADE_LETTERS[args["grade"]]
    for key in ("first", "second"):
        if isinstance(args.get(key), int) and 0 <= args[key] < len(GRADE_LETTERS):
            fields[f"{key}_letter"] = GRADE_LETTERS[args[key]]
    if isinstance(args.get("problem"), int) and 0 <= args["problem"] < len(PROBLEMS):
        fields["problem_name"] = PROBLEMS[args["problem"]]
    if name.startswith("Exchange"):
        for key in _VALUE_ARGS & args.keys():
            fields[f"{key}_csu"] = value_text(int(args[key]))
        if isinstance(args.get("limitKind"), int) and 0 <= args["limitKind"] < len(LIMIT_KINDS):
            fields["limitKind_name"] = LIMIT_KINDS[args["limitKind"]]
    if isinstance(args.get("status"), int):
        statuses: tuple[str, ...] = RECORD_STATUSES
        if name == "RecordsBatchClosed":
            statuses = BATCH_STATUSES
        elif name == "ExchangeSettlementClosed":
            statuses = SETTLEMENT_STATUSES
        elif name.startswith("Catalogue"):
            statuses = ORDER_STATUSES
        if 0 <= args["status"] < len(statuses):
            fields["status_name"] = statuses[args["status"]]
            fields["batch_status_name"] = statuses[args["status"]]
        if 0 <= args["status"] < len(REQUEST_STATUSES):
            fields["request_status_name"] = REQUEST_STATUSES[args["status"]]
    for key in (
        "start",
        "end",
        "lastEnd",
        "expiresAt",
        "availableFrom",
        "availableUntil",
        "deadline",
        "blockTime",
    ):
        if isinstance(args.get(key), int):
            fields[f"{key}_time"] = _time_text(args[key])
    if isinstance(args.get("kind"), int):
        fields["kind_name"] = {1: "duration", 2: "fixed-point"}.get(args["kind"], "no")
    for key, value in args.items():
        if isinstance(value, str) and value.startswith("0x") and len(value) == 66:
            fields[f"{key}_name"] = role_names.get(bytes.fromhex(value[2:]), value)
            fields[f"{key}_text"] = _bytes32_text(value)
    if template is None:
        shown = ", ".join(f"{k}={v}" for k, v in args.items())
        return f"{name}({shown})"
    try:
        return template.format(**fields)
    except (KeyError, IndexError):
        return f"{name}: {template}"


def value_text(thousandths: int) -> str:
    """A value in thousandths of the city standard unit, as people read it (``1.250``)."""
    sign = "-" if thousandths < 0 else ""
    whole, rest = divmod(abs(thousandths), 1000)
    return f"{sign}{whole:,}.{rest:03d}"


def _time_text(timestamp: int) -> str:
    """A Unix time as China Standard Time, as people read it."""
    try:
        moment = datetime.fromtimestamp(timestamp, UTC).astimezone(timezone(timedelta(hours=8)))
    except (OverflowError, OSError, ValueError):
        return str(timestamp)
    return moment.strftime("%Y-%m-%d %H:%M:%S CST")


def _bytes32_text(value: str) -> str:
    raw = bytes.fromhex(value[2:]).rstrip(b"\x00")
    try:
        return raw.decode("ascii") if raw.isascii() and raw else value
    except UnicodeDecodeError:
        return value
