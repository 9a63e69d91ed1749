// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IPointsLedger
/// @notice Balances of every scheme's points per member, readable through ERC-1155 (token id =
/// scheme id). Points move only through the ledger's own functions under each scheme's rules.
/// @dev Each member's account in a scheme is one storage word: the balance and the member's
/// earning standing (see Standing), so that paying a service record reads and writes one word.
interface IPointsLedger {
    /// @notice A scheme's anti-farming limits (kept by the service-records contract, checked here).
    /// Days and weeks are those of China Standard Time, weeks from Monday, by the day a service
    /// started; `lateWorkingDays` is how long after the service a record is on time.
    struct Limits {
        uint16 recordsPerDay;
        uint16 minutesPerDay;
        uint64 pointsPerDay;
        uint64 pointsPerWeek;
        uint32 approvalsPerHour;
        uint8 lateWorkingDays;
    }

    /// @notice Where a member stands in a scheme: the end of the latest paid service (records are
    /// paid in time order, so none overlaps it), and the counts of the day and week it fell in.
    struct Standing {
        uint256 balance;
        uint40 lastEnd;
        uint16 day;
        uint256 dayRecords;
        uint256 dayMinutes;
        uint256 dayPoints;
        uint256 weekPoints;
        uint256 epoch;
    }

    /// @notice One paid service of one member.
    struct Service {
        uint40 start;
        uint40 end;
        uint32 serviceMinutes;
        uint256 points;
    }

    /// @notice A batch of services of one scheme, with what its records are checked against.
    /// @dev `records` are packed as in IServiceRecords (RECORD_SIZE bytes each).
    struct BatchTerms {
        uint256 schemeId;
        uint256 submittedAt;
        address reviewer;
        address submitter;
        bool duration;
        uint32 pointsPerHour;
        uint16[] grades;
        uint64[] actionPoints;
        Limits limits;
    }

    /// @notice Points taken from a member's available balance and held for a spending contract
    /// (an order, a time-bank request) until it settles them, as that contract records the hold:
    /// the ledger keeps only how much each holder holds of each scheme, the holder keeps this.
    /// @dev `ref` is the reference the hold was placed with (its low 248 bits number the hold in
    /// events); `lots` are the expiring lots the points came from, as `hold` returned them (expiry
    /// month | amount << 24; any rest never expires): points paid or returned out of a hold keep
    /// their expiry.
    struct Hold {
        uint256 schemeId;
        address owner;
        uint256 amount;
        bytes32 ref;
        uint256[] lots;
    }

    /// @notice Why a record of a batch was refused; `detail` in PointsBatchRefused says more.
    enum Problem {
        None,
        SelfReview,
        InvalidTimes,
        InFuture,
        Late,
        NotActive,
        Overlap,
        RecordsPerDay,
        MinutesPerDay,
        PointsPerDay,
        PointsPerWeek,
        UnknownGrade,
        UnknownAction
    }

    /// @notice Points issued for `source` (the approved service record or other cause behind them).
    event PointsIssued(
        uint256 indexed schemeId,
        address indexed member,
        bytes32 indexed source,
        uint256 amount,
        uint256 period,
        address operator
    );
    /// @notice Points issued to many members at once for one cause (an approved batch of records);
    /// each member's points also appear as an ERC-1155 TransferSingle event.
    event PointsIssuedInBatch(
        uint256 indexed schemeId, bytes32 indexed source, uint256 count, uint256 amount, uint256 period, address operator
    );
    /// @notice A correction changed a paid service's points by `delta` (negative: taken back).
    event PointsCorrected(
        uint256 indexed schemeId, address indexed member, bytes32 indexed source, int256 delta, address operator
    );
    /// @notice All of a member's balances moved to their new address after recovery.
    event BalancesRecovered(address indexed previous, address indexed successor, uint256[] schemeIds, uint256[] amounts);
    event MetadataURIChanged(string uri);
    /// @notice Points of an exchange or other spending contract's cause created in a scheme
    /// (outside the scheme's issuance quota; within its supply limit).
    event PointsMinted(
        uint256 indexed schemeId, address indexed member, bytes32 indexed ref, uint256 amount, address operator
    );
    /// @notice Points taken out of supply for a spending contract's cause (an exchange out).
    event PointsBurned(
        uint256 indexed schemeId, address indexed member, bytes32 indexed ref, uint256 amount, address operator
    );
    /// @notice Points moved between accounts by a spending contract (a gift, a donation, a fund grant).
    event PointsMoved(
        uint256 indexed schemeId,
        address indexed from,
        address indexed to,
        uint256 amount,
        bytes32 ref,
        address operator
    );
    event PointsHeld(
        uint256 indexed holdId, uint256 indexed schemeId, address indexed owner, uint256 amount, bytes32 ref, address holder
    );
    /// @notice A hold ended: `paid` to `payee`, `burned` out of supply, `returned` to the owner.
    event HoldSettled(uint256 indexed holdId, address indexed payee, uint256 paid, uint256 burned, uint256 returned);
    /// @notice Points of `month` (expiry month number) reached their expiry and left supply.
    event PointsExpired(uint256 indexed schemeId, address indexed member, uint256 amount, uint256 expiryMonth);
    /// @notice Part of a member's balance frozen (or, with `frozen` lower, released) pending an investigation.
    event PointsFrozen(
        uint256 indexed schemeId, address indexed member, bytes32 indexed caseRef, uint256 frozen, address by
    );

    error PointsNotAMember(address account);
    error PointsMemberFrozen(address account);
    error PointsTransferNotAllowed(address from, address to);
    error PointsInvalidAmount(uint256 amount);
    error PointsInvalidSource(bytes32 source);
    error PointsQuotaExceeded(uint256 schemeId, uint256 period, uint256 requested, uint256 remaining);
    error PointsUnauthorizedCaller(address caller);
    error PointsSourceAlreadyPaid(bytes32 source);
    error PointsIssuerNotContract(address account);
    error PointsInsufficientBalance(address member, uint256 schemeId, uint256 balance, uint256 needed);
    error PointsOverlap(address member, uint40 start, uint40 lastEnd);
    error PointsCap(address member, Problem problem, uint256 cap);
    error PointsCorrectionOverlap(address member, uint40 start, uint40 end);
    error PointsBatchRefused(uint256 index, Problem problem, uint256 detail);
    /// @notice The scheme (`schemeId` 0: every scheme) is paused: its points cannot move.
    error PointsPaused(uint256 schemeId);
    error PointsMaxBalance(address member, uint256 schemeId, uint256 balance, uint256 maxBalance);
    error PointsSupplyLimit(uint256 schemeId, uint256 supply, uint256 requested, uint256 limit);
    error PointsInvalidRecipient(address account);
    error PointsHoldExceeded(uint256 holdId, uint256 amount, uint256 requested);
    error PointsNotFrozen(address member, uint256 schemeId, uint256 frozen, uint256 requested);

    /// @notice Issues points of `schemeId` to `member` for `source`, within the scheme's quota;
    /// a source is paid once.
    /// @dev Only ISSUANCE_ROLE: the contracts that enforce why points are due (review, exchange).
    function issue(address member, uint256 schemeId, uint256 amount, bytes32 source) external;

    /// @notice Pays one reviewed service: checks the member is active, the service starts after
    /// their latest paid one in the scheme and stays within the day's and week's caps, then issues
    /// its points (possibly none) for `source`.
    function earn(uint256 schemeId, address member, Service calldata service, Limits calldata limits, bytes32 source)
        external;

    /// @notice Pays a reviewed batch of packed records under `terms`: every record is checked as in
    /// `earn`, and against the reviewer and submitter; all or nothing. Returns the points issued.
    function earnBatch(BatchTerms calldata terms, bytes calldata records, bytes32 source)
        external
        returns (uint256 total);

    /// @notice Applies a correction of a paid service: the new interval may shorten the old one, or
    /// lengthen the member's latest service; points move by the difference (`source` is the
    /// correction's).
    function correct(
        uint256 schemeId,
        address member,
        Service calldata previous,
        Service calldata corrected,
        Limits calldata limits,
        bytes32 source
    ) external;

    /// @notice Moves every balance of `previous` to `successor`; only the member registry calls it.
    function recoverBalances(address previous, address successor) external;

    // --- spending (SPENDING_ROLE: the exchange, catalogue, time bank, gifts and community funds) ---

    /// @notice Takes `used` of `member`'s available points of `fromScheme` out of supply and creates
    /// `out` of `toScheme` for them (within its supply limit and maximum balance), both for `ref`:
    /// an exchange, in one call. The caller's references must be unique; none is recorded as paid.
    function convert(uint256 fromScheme, uint256 toScheme, address member, uint256 used, uint256 out, bytes32 ref)
        external;

    /// @notice Moves available points between accounts (members or spending contracts) for `ref`.
    /// Points keep their expiry lots between members; in a spending contract's account they do
    /// not expire, and paid out of it they count as newly created.
    function move(uint256 schemeId, address from, address to, uint256 amount, bytes32 ref) external;

    /// @notice Holds `amount` of `owner`'s available points for the calling contract, for `ref`
    /// (unique among the caller's holds); returns the expiring lots they came from, which the
    /// caller keeps with its record of the hold (see Hold).
    function hold(uint256 schemeId, address owner, uint256 amount, bytes32 ref)
        external
        returns (uint256[] memory lots);

    /// @notice Ends a hold of the calling contract, described as it was placed: `toPayee` to
    /// `payee`, `toBurn` out of supply, the rest back to the owner (or the account they were
    /// recovered to). The caller settles each of its holds once (its own record says which are
    /// open); the ledger refuses to settle more than the caller holds of the scheme.
    function settleHold(Hold calldata held, address payee, uint256 toPayee, uint256 toBurn) external;

    /// @notice Burns the expired points of `accounts` in a scheme (anyone may call it).
    function expire(uint256 schemeId, address[] calldata accounts) external returns (uint256 total);

    function standing(uint256 schemeId, address member) external view returns (Standing memory);
    function issued(uint256 schemeId) external view returns (uint256);
    function burned(uint256 schemeId) external view returns (uint256);
    function isPaid(bytes32 source) external view returns (bool);
    function quotaUsed(uint256 schemeId) external view returns (uint256);
    function currentPeriod(uint256 schemeId) external view returns (uint256);
    function remainingQuota(uint256 schemeId) external view returns (uint256);
}
