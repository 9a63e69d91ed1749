// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ITimeBank
/// @notice The time bank (爱心银行: 服务得积分、积分享爱心): a member posts a request for help, paid in
/// hours of a time-bank scheme (1 point = 1 hour); another member accepts it and the hours are held
/// from the requester; when the requester confirms (or a reviewer settles a dispute) they go to the
/// helper, as the helper's service record of the scheme. A member's recorded proxy (a family member,
/// a community worker) may act for them. The request's details (address, needs) stay off chain;
/// the chain holds their hash.
interface ITimeBank {
    enum Status {
        None,
        /// Posted, waiting for a helper.
        Open,
        /// A helper accepted; the hours are held from the requester.
        Accepted,
        /// A party disputed it; a reviewer of the scheme settles it.
        Disputed,
        /// The requester confirmed: the hours went to the helper.
        Completed,
        /// A reviewer settled the dispute: the hours were split.
        Resolved,
        /// The requester cancelled it before anyone accepted.
        Cancelled
    }

    struct Request {
        address requester;
        uint32 schemeId;
        /// The kind of service (a code of the off-chain list: companionship, shopping, ...).
        uint8 kind;
        Status status;
        uint16 hoursOffered;
        address helper;
        /// 0: no deadline; otherwise nobody can accept the request from this time on.
        uint40 deadline;
        /// While the hours are held (accepted or disputed): the request's id, which numbers its hold
        /// in the points ledger's events (0 when nothing is held).
        uint56 holdId;
    }

    /// @notice `by` is who signed: the member, or their proxy.
    event RequestPosted(
        uint256 indexed requestId,
        uint256 indexed schemeId,
        address indexed requester,
        uint8 kind,
        uint256 hoursOffered,
        bytes32 detailsHash,
        uint40 deadline,
        address by
    );
    event RequestAccepted(uint256 indexed requestId, address indexed helper, uint256 holdId, address by);
    /// @notice The helper stepped back: the hours returned to the requester and the request is open again.
    event HelperWithdrew(uint256 indexed requestId, address indexed helper, address by);
    event RequestCancelled(uint256 indexed requestId, address by);
    event RequestConfirmed(uint256 indexed requestId, address by);
    event RequestDisputed(uint256 indexed requestId, address indexed by, uint16 reason);
    /// @notice A reviewer settled a dispute: `helperHours` to the helper, `returnedHours` back to the requester.
    event DisputeResolved(
        uint256 indexed requestId, address indexed reviewer, uint256 helperHours, uint256 returnedHours
    );
    /// @notice The helper's service record of the time-bank scheme: `hoursPaid` hours of help given
    /// to `requester`; `source` (3 << 248 | requestId) names the request in the points ledger.
    event TimeBankServiceRecorded(
        uint256 indexed requestId,
        uint256 indexed schemeId,
        address indexed helper,
        address requester,
        uint256 hoursPaid,
        bytes32 source
    );

    error TimeBankUnknownRequest(uint256 requestId);
    error TimeBankNotTimeBankScheme(uint256 schemeId);
    error TimeBankInvalidHours(uint256 hoursOffered, uint256 maxHours);
    error TimeBankInvalidKind(uint8 kind);
    error TimeBankInvalidDetails();
    error TimeBankInvalidDeadline(uint40 deadline, uint256 blockTime);
    error TimeBankInvalidReason(uint16 reason);
    /// @notice `account` is neither `member` nor a recorded proxy of them.
    error TimeBankNotMemberOrProxy(address member, address account);
    error TimeBankMemberNotActive(address member);
    error TimeBankMemberFrozen(address member);
    error TimeBankInsufficientBalance(address member, uint256 schemeId, uint256 available, uint256 needed);
    error TimeBankInvalidStatus(uint256 requestId, Status status);
    error TimeBankSelfHelp(uint256 requestId, address helper);
    error TimeBankRequestExpired(uint256 requestId, uint40 deadline);
    error TimeBankNotReviewer(uint256 schemeId, address account);
    /// @notice A party (or a proxy of one) cannot settle their own dispute.
    error TimeBankPartyCannotResolve(uint256 requestId, address account);
    error TimeBankSplitExceeded(uint256 requestId, uint256 hoursHeld, uint256 helperHours);

    /// @notice Posts a request for help for `member` (by the member or their proxy); their available
    /// balance must cover the hours offered. Returns the request id.
    function post(
        address member,
        uint256 schemeId,
        uint8 kind,
        uint256 hoursOffered,
        bytes32 detailsHash,
        uint40 deadline
    ) external returns (uint256 requestId);

    /// @notice `helper` (or their proxy) takes an open request; the hours are held from the requester.
    function accept(uint256 requestId, address helper) external;

    /// @notice The helper (or their proxy) steps back; the hours return and the request is open again.
    function withdraw(uint256 requestId) external;

    /// @notice The requester (or their proxy) cancels a request nobody has accepted.
    function cancel(uint256 requestId) external;

    /// @notice The requester (or their proxy) confirms the help was given: the hours go to the helper.
    function confirm(uint256 requestId) external;

    /// @notice Either party (or a proxy) disputes an accepted request; a reviewer settles it.
    function dispute(uint256 requestId, uint16 reason) external;

    /// @notice A reviewer of the scheme, neither party nor a proxy of one, settles a dispute:
    /// `helperHours` go to the helper, the rest returns to the requester.
    function resolve(uint256 requestId, uint256 helperHours) external;

    function request(uint256 requestId) external view returns (Request memory);
    function requestCount() external view returns (uint256);
    /// @notice The points-ledger reference of a request's hold and payment: 3 << 248 | requestId.
    function sourceOf(uint256 requestId) external pure returns (bytes32);
}
