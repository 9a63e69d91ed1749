// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IPointsLedger} from "./interfaces/IPointsLedger.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";
import {ITimeBank} from "./interfaces/ITimeBank.sol";
import {HeldLots} from "./utils/HeldLots.sol";

/// @dev The points ledger's view of what a member can spend now (not in IPointsLedger).
interface IAvailablePoints {
    function availableOf(uint256 schemeId, address member) external view returns (uint256);
}

/// @title TimeBank
/// @notice Requests for help paid in hours of a time-bank scheme: post, accept (hours held),
/// confirm (hours paid to the helper), or cancel, withdraw, dispute and a reviewer's split.
/// @dev Holds SPENDING_ROLE on the points ledger; every movement of hours is a ledger hold placed at
/// acceptance and settled once. Member-facing calls name the member and admit the member or a
/// proxy recorded in the member registry.
contract TimeBank is ITimeBank, Governed {
    /// The scheme registry's flag of schemes whose points are time-bank hours.
    uint32 public constant FLAG_TIME_BANK = 16;
    /// The scheme registry's reviewer role: reviewers of the scheme settle disputes.
    bytes32 public constant REVIEWER_ROLE = keccak256("REVIEWER_ROLE");
    /// The most hours one request may offer.
    uint256 public constant MAX_HOURS = 1000;
    /// The kind of points-ledger reference a request's hold and payment carry (top byte).
    uint256 public constant SOURCE_KIND = 3;

    ISchemeRegistry private immutable _schemes;
    IMemberRegistry private immutable _members;
    IPointsLedger private immutable _ledger;

    /// A request as stored: Request, with the lot its held hours came from (expiry month | hours
    /// << 24, at most 1000 hours: 56 bits) in place of the hold id. The request is the points
    /// ledger's hold too: the ledger keeps only what the time bank holds in all (see HeldLots).
    /// The hash of its details is in its RequestPosted event only: a third storage word would
    /// cost each request 22,100 gas.
    struct StoredRequest {
        address requester;
        uint32 schemeId;
        uint8 kind;
        Status status;
        uint16 hoursOffered;
        address helper;
        uint40 deadline;
        uint56 lot;
    }

    mapping(uint256 requestId => StoredRequest) private _requests;
    /// The lots of a request whose hours came from several (HeldLots.LISTED).
    mapping(uint256 requestId => uint256[]) private _requestLots;
    uint256 private _count;

    constructor(
        address admin,
        address forwarder,
        ISchemeRegistry schemes,
        IMemberRegistry members,
        IPointsLedger points
    ) Governed(admin, forwarder) {
        _schemes = schemes;
        _members = members;
        _ledger = points;
    }

    /// @inheritdoc ITimeBank
    function post(
        address member,
        uint256 schemeId,
        uint8 kind,
        uint256 hoursOffered,
        bytes32 detailsHash,
        uint40 deadline
    ) external returns (uint256 requestId) {
        address sender = _actFor(member);
        _requireActive(member);
        if (_schemes.policyTerms(schemeId).flags & FLAG_TIME_BANK == 0) revert TimeBankNotTimeBankScheme(schemeId);
        if (hoursOffered == 0 || hoursOffered > MAX_HOURS) revert TimeBankInvalidHours(hoursOffered, MAX_HOURS);
        if (kind == 0) revert TimeBankInvalidKind(kind);
        if (detailsHash == bytes32(0)) revert TimeBankInvalidDetails();
        if (deadline != 0 && deadline <= block.timestamp) revert TimeBankInvalidDeadline(deadline, block.timestamp);
        uint256 available = IAvailablePoints(address(_ledger)).availableOf(schemeId, member);
        if (available < hoursOffered) revert TimeBankInsufficientBalance(member, schemeId, available, hoursOffered);
        requestId = ++_count;
        _requests[requestId] = StoredRequest({
            requester: member,
            schemeId: uint32(schemeId),
            kind: kind,
            status: Status.Open,
            hoursOffered: uint16(hoursOffered),
            helper: address(0),
            deadline: deadline,
            lot: 0
        });
        emit RequestPosted(requestId, schemeId, member, kind, hoursOffered, detailsHash, deadline, sender);
    }

    /// @inheritdoc ITimeBank
    /// @dev The ledger's hold checks the requester is active and can pay (available balance, pause).
    function accept(uint256 requestId, address helper) external {
        StoredRequest storage r = _request(requestId);
        address sender = _actFor(helper);
        _requireStatus(requestId, r.status, Status.Open);
        if (r.deadline != 0 && block.timestamp >= r.deadline) revert TimeBankRequestExpired(requestId, r.deadline);
        address requester = r.requester;
        if (helper == requester) revert TimeBankSelfHelp(requestId, helper);
        _requireActive(helper);
        uint256[] memory lots = _ledger.hold(r.schemeId, requester, r.hoursOffered, sourceOf(requestId));
        r.status = Status.Accepted;
        r.helper = helper;
        r.lot = uint56(HeldLots.keep(lots, _requestLots, requestId));
        emit RequestAccepted(requestId, helper, requestId, sender);
    }

    /// @inheritdoc ITimeBank
    function withdraw(uint256 requestId) external {
        StoredRequest storage r = _request(requestId);
        address helper = r.helper;
        _requireStatus(requestId, r.status, Status.Accepted);
        address sender = _actFor(helper);
        IPointsLedger.Hold memory held = _hold(requestId, r);
        r.status = Status.Open;
        r.helper = address(0);
        r.lot = 0;
        emit HelperWithdrew(requestId, helper, sender);
        _ledger.settleHold(held, address(0), 0, 0);
    }

    /// @inheritdoc ITimeBank
    function cancel(uint256 requestId) external {
        StoredRequest storage r = _request(requestId);
        address sender = _actFor(r.requester);
        _requireStatus(requestId, r.status, Status.Open);
        r.status = Status.Cancelled;
        emit RequestCancelled(requestId, sender);
    }

    /// @inheritdoc ITimeBank
    function confirm(uint256 requestId) external {
        StoredRequest storage r = _request(requestId);
        address sender = _actFor(r.requester);
        _requireStatus(requestId, r.status, Status.Accepted);
        r.status = Status.Completed;
        emit RequestConfirmed(requestId, sender);
        _pay(requestId, r, r.hoursOffered);
    }

    /// @inheritdoc ITimeBank
    function dispute(uint256 requestId, uint16 reason) external {
        StoredRequest storage r = _request(requestId);
        address sender = _msgSender();
        if (!_mayActFor(r.requester, sender) && !_mayActFor(r.helper, sender)) {
            revert TimeBankNotMemberOrProxy(r.requester, sender);
        }
        _requireStatus(requestId, r.status, Status.Accepted);
        if (reason == 0) revert TimeBankInvalidReason(reason);
        r.status = Status.Disputed;
        emit RequestDisputed(requestId, sender, reason);
    }

    /// @inheritdoc ITimeBank
    function resolve(uint256 requestId, uint256 helperHours) external {
        StoredRequest storage r = _request(requestId);
        address sender = _msgSender();
        uint256 schemeId = r.schemeId;
        if (!_schemes.hasSchemeRole(schemeId, REVIEWER_ROLE, sender)) revert TimeBankNotReviewer(schemeId, sender);
        if (_mayActFor(r.requester, sender) || _mayActFor(r.helper, sender)) {
            revert TimeBankPartyCannotResolve(requestId, sender);
        }
        _requireStatus(requestId, r.status, Status.Disputed);
        uint256 held = r.hoursOffered;
        if (helperHours > held) revert TimeBankSplitExceeded(requestId, held, helperHours);
        r.status = Status.Resolved;
        emit DisputeResolved(requestId, sender, helperHours, held - helperHours);
        _pay(requestId, r, helperHours);
    }

    // --- views ---------------------------------------------------------------------------------

    /// @notice A request; while its hours are held, its hold id is its own id (the points ledger
    /// numbers a hold by its reference's low bits).
    function request(uint256 requestId) external view returns (Request memory) {
        StoredRequest storage r = _requests[requestId];
        bool held = _holds(r.status);
        return Request({
            requester: r.requester,
            schemeId: r.schemeId,
            kind: r.kind,
            status: r.status,
            hoursOffered: r.hoursOffered,
            helper: r.helper,
            deadline: r.deadline,
            holdId: held ? uint56(requestId) : 0
        });
    }

    /// @notice The expiring lots a request's held hours came from (expiry month | hours << 24; the
    /// rest never expires); none while nothing is held.
    function requestLots(uint256 requestId) external view returns (uint256[] memory) {
        StoredRequest storage r = _requests[requestId];
        if (!_holds(r.status)) return new uint256[](0);
        return HeldLots.load(r.lot, _requestLots, requestId);
    }

    function requestCount() external view returns (uint256) {
        return _count;
    }

    /// @inheritdoc ITimeBank
    function sourceOf(uint256 requestId) public pure returns (bytes32) {
        return bytes32((SOURCE_KIND << 248) | requestId);
    }

    function schemeRegistry() external view returns (address) {
        return address(_schemes);
    }

    function memberRegistry() external view returns (address) {
        return address(_members);
    }

    function pointsLedger() external view returns (address) {
        return address(_ledger);
    }

    // --- internals -----------------------------------------------------------------------------

    /// @dev Settles the request's hold: `paid` hours to the helper (their service record), the rest
    /// back to the requester.
    function _pay(uint256 requestId, StoredRequest storage r, uint256 paid) private {
        address helper = r.helper;
        _ledger.settleHold(_hold(requestId, r), helper, paid, 0);
        if (paid != 0) {
            emit TimeBankServiceRecorded(requestId, r.schemeId, helper, r.requester, paid, sourceOf(requestId));
        }
    }

    /// @dev The request's held hours as the points ledger's hold (see IPointsLedger.Hold).
    function _hold(uint256 requestId, StoredRequest storage r) private view returns (IPointsLedger.Hold memory) {
        return IPointsLedger.Hold({
            schemeId: r.schemeId,
            owner: r.requester,
            amount: r.hoursOffered,
            ref: sourceOf(requestId),
            lots: HeldLots.load(r.lot, _requestLots, requestId)
        });
    }

    function _request(uint256 requestId) private view returns (StoredRequest storage r) {
        r = _requests[requestId];
        if (r.status == Status.None) revert TimeBankUnknownRequest(requestId);
    }

    /// @dev The signer, if it is `member` or a recorded proxy of `member`.
    function _actFor(address member) private view returns (address sender) {
        sender = _msgSender();
        if (!_mayActFor(member, sender)) revert TimeBankNotMemberOrProxy(member, sender);
    }

    function _mayActFor(address member, address account) private view returns (bool) {
        return member != address(0) && (account == member || _members.isProxy(member, account));
    }

    function _requireActive(address member) private view {
        IMemberRegistry.MemberStatus status = _members.statusOf(member);
        if (status == IMemberRegistry.MemberStatus.Frozen) revert TimeBankMemberFrozen(member);
        if (status != IMemberRegistry.MemberStatus.Active) revert TimeBankMemberNotActive(member);
    }

    /// @dev Whether a request in `status` has its hours held (accepted, or disputed since).
    function _holds(Status status) private pure returns (bool) {
        return status == Status.Accepted || status == Status.Disputed;
    }

    function _requireStatus(uint256 requestId, Status status, Status expected) private pure {
        if (status != expected) revert TimeBankInvalidStatus(requestId, status);
    }
}
