// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";
import {Governed} from "./utils/Governed.sol";
import {ServiceTime} from "./utils/ServiceTime.sol";
import {BatchRecords} from "./utils/BatchRecords.sol";
import {IPointsLedger} from "./interfaces/IPointsLedger.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";

/// @title PointsLedger
/// @notice Every scheme's points, per member. Standard tools read it as ERC-1155 (balanceOf,
/// balanceOfBatch, uri, TransferSingle/TransferBatch events, and totalSupply as ERC1155Supply has
/// it); nobody can transfer with the ERC-1155 functions.
/// @dev OpenZeppelin's ERC1155 provides the interface, metadata URI and ERC-165; its balance storage
/// is not used. Instead each member's account in a scheme is one word holding the balance and the
/// member's earning standing, so that paying a record costs one storage read and write (a city pays
/// tens of thousands a day). Layout, from the low bits:
/// balance (88) | last paid end (40) | day (16) | records that day (6) | minutes that day (11) |
/// points that day (28) | points that week (36) | member-status epoch (31; see _epochBits).
/// Only active members receive points; issuance checks the scheme's quota per period.
contract PointsLedger is IPointsLedger, ERC1155, Governed {
    /// @notice Held by the contracts that decide when points are due (service records, exchange).
    bytes32 public constant ISSUANCE_ROLE = keccak256("ISSUANCE_ROLE");
    /// Bytes per record in a batch (utils/BatchRecords.sol).
    uint256 public constant RECORD_SIZE = BatchRecords.RECORD_SIZE;
    /// A record covers at most one day of service.
    uint256 public constant MAX_RECORD_SECONDS = 1 days;
    uint256 public constant MAX_BALANCE = (1 << 88) - 1;
    /// The largest limits the packed standing can count to.
    uint256 public constant MAX_RECORDS_PER_DAY = (1 << 6) - 1;
    uint256 public constant MAX_MINUTES_PER_DAY = 1440;
    uint256 public constant MAX_POINTS_PER_DAY = (1 << 28) - 1;
    uint256 public constant MAX_POINTS_PER_WEEK = (1 << 36) - 1;

    uint256 private constant BALANCE_MASK = (1 << 88) - 1;
    uint256 private constant EPOCH_SHIFT = 225;
    uint256 private constant EPOCH_BITS = 31;
    uint256 private constant EPOCH_MASK = ((1 << EPOCH_BITS) - 1) << EPOCH_SHIFT;

    IMemberRegistry private immutable _members;
    ISchemeRegistry private immutable _schemes;

    mapping(uint256 schemeId => mapping(address member => uint256 word)) private _accounts;
    mapping(uint256 schemeId => uint256) private _issued;
    mapping(uint256 schemeId => uint256) private _burned;
    /// Quota use and the window it counts against, by absolute times, so that a change of quota
    /// period carries the use over for as long as the window it was counted in lasts.
    struct QuotaUsage {
        uint64 start;
        uint64 end;
        uint128 used;
    }

    mapping(uint256 schemeId => QuotaUsage) private _usage;
    mapping(bytes32 source => bool) private _paid;

    constructor(address admin, address forwarder, IMemberRegistry members, ISchemeRegistry schemes, string memory uri_)
        ERC1155(uri_)
        Governed(admin, forwarder)
    {
        _members = members;
        _schemes = schemes;
    }

    // --- issuance ------------------------------------------------------------------------------

    /// @inheritdoc IPointsLedger
    function issue(address member, uint256 schemeId, uint256 amount, bytes32 source)
        external
        onlyRole(ISSUANCE_ROLE)
    {
        if (amount == 0 || amount > MAX_BALANCE) revert PointsInvalidAmount(amount);
        _requireActive(member, _members.statusOf(member));
        uint256 period = _useQuota(schemeId, amount, source);
        _accounts[schemeId][member] = _credit(_accounts[schemeId][member], amount);
        emit TransferSingle(_msgSender(), address(0), member, schemeId, amount);
        emit PointsIssued(schemeId, member, source, amount, period, _msgSender());
    }

    /// @inheritdoc IPointsLedger
    function earn(uint256 schemeId, address member, Service calldata service, Limits calldata limits, bytes32 source)
        external
        onlyRole(ISSUANCE_ROLE)
    {
        _requireActive(member, _members.statusOf(member));
        uint256 amount = service.points;
        (uint256 word, Problem problem, uint256 detail) =
            _earn(_accounts[schemeId][member], limits, service.start, service.end, service.serviceMinutes, amount);
        if (problem == Problem.Overlap) revert PointsOverlap(member, service.start, uint40(detail));
        if (problem != Problem.None) revert PointsCap(member, problem, detail);
        word = (word & ~EPOCH_MASK) | _epochBits();
        uint256 period = _useQuota(schemeId, amount, source);
        _accounts[schemeId][member] = _credit(word, amount);
        if (amount != 0) {
            emit TransferSingle(_msgSender(), address(0), member, schemeId, amount);
            emit PointsIssued(schemeId, member, source, amount, period, _msgSender());
        }
    }

    /// @inheritdoc IPointsLedger
    /// @dev The member-status check is skipped for a member whose standing was written while no
    /// member anywhere was frozen or recovered since (see IMemberRegistry.statusEpoch).
    function earnBatch(BatchTerms calldata terms, bytes calldata records, bytes32 source)
        external
        onlyRole(ISSUANCE_ROLE)
        returns (uint256 total)
    {
        uint256 schemeId = terms.schemeId;
        uint256 count = records.length / RECORD_SIZE;
        mapping(address => uint256) storage accounts = _accounts[schemeId];
        uint256 epochBits = _epochBits();
        uint256 submittedDay = ServiceTime.dayOf(terms.submittedAt);
        BatchTerms memory t = terms;
        address operator = _msgSender();
        for (uint256 i = 0; i < count;) {
            (address member, uint256 points) = _payRow(t, accounts, records, i, submittedDay, epochBits);
            if (points != 0) emit TransferSingle(operator, address(0), member, schemeId, points);
            unchecked {
                total += points;
                ++i;
            }
        }
        uint256 period = _useQuota(schemeId, total, source);
        emit PointsIssuedInBatch(schemeId, source, count, total, period, operator);
    }

    /// @inheritdoc IPointsLedger
    function correct(
        uint256 schemeId,
        address member,
        Service calldata previous,
        Service calldata corrected,
        Limits calldata limits,
        bytes32 source
    ) external onlyRole(ISSUANCE_ROLE) {
        _requireActive(member, _members.statusOf(member));
        uint256 word = _accounts[schemeId][member];
        uint256 lastEnd = uint40(word >> 88);
        bool latest = previous.end == lastEnd;
        if (corrected.start < previous.start || (corrected.end > previous.end && !latest)) {
            revert PointsCorrectionOverlap(member, corrected.start, corrected.end);
        }
        if (latest) word = _set(word, 88, 40, corrected.end);
        uint256 day = ServiceTime.dayOf(previous.start);
        uint256 storedDay = uint16(word >> 128);
        if (day == storedDay) {
            uint256 minutes_ = _adjust(_get(word, 150, 11), previous.serviceMinutes, corrected.serviceMinutes);
            if (corrected.serviceMinutes > previous.serviceMinutes && minutes_ > limits.minutesPerDay) {
                revert PointsCap(member, Problem.MinutesPerDay, limits.minutesPerDay);
            }
            uint256 dayPoints = _adjust(_get(word, 161, 28), previous.points, corrected.points);
            if (corrected.points > previous.points && dayPoints > limits.pointsPerDay) {
                revert PointsCap(member, Problem.PointsPerDay, limits.pointsPerDay);
            }
            word = _set(_set(word, 150, 11, minutes_), 161, 28, dayPoints);
        }
        if (ServiceTime.weekOf(day) == ServiceTime.weekOf(storedDay)) {
            uint256 weekPoints = _adjust(_get(word, 189, 36), previous.points, corrected.points);
            if (corrected.points > previous.points && weekPoints > limits.pointsPerWeek) {
                revert PointsCap(member, Problem.PointsPerWeek, limits.pointsPerWeek);
            }
            word = _set(word, 189, 36, weekPoints);
        }
        address operator = _msgSender();
        if (corrected.points > previous.points) {
            uint256 more = corrected.points - previous.points;
            _useQuota(schemeId, more, source);
            word = _credit(word, more);
            emit TransferSingle(operator, address(0), member, schemeId, more);
        } else {
            if (source == bytes32(0)) revert PointsInvalidSource(source);
            if (_paid[source]) revert PointsSourceAlreadyPaid(source);
            _paid[source] = true;
            uint256 less = previous.points - corrected.points;
            if (less != 0) {
                uint256 balance = word & BALANCE_MASK;
                if (balance < less) revert PointsInsufficientBalance(member, schemeId, balance, less);
                word -= less;
                _burned[schemeId] += less;
                emit TransferSingle(operator, member, address(0), schemeId, less);
            }
        }
        _accounts[schemeId][member] = word;
        emit PointsCorrected(schemeId, member, source, int256(corrected.points) - int256(previous.points), operator);
    }

    /// @inheritdoc IPointsLedger
    /// @dev The successor is a new account, so it takes each account word whole: the balance and
    /// the standing (a recovered member cannot start their earning limits afresh).
    function recoverBalances(address previous, address successor) external {
        if (msg.sender != address(_members)) revert PointsUnauthorizedCaller(msg.sender);
        uint256 count = _schemes.schemeCount();
        uint256 held = 0;
        for (uint256 id = 1; id <= count; ++id) {
            if (_accounts[id][previous] & BALANCE_MASK != 0) ++held;
        }
        uint256[] memory ids = new uint256[](held);
        uint256[] memory amounts = new uint256[](held);
        uint256 j = 0;
        for (uint256 id = 1; id <= count; ++id) {
            uint256 word = _accounts[id][previous];
            if (word == 0) continue;
            _accounts[id][successor] = word;
            delete _accounts[id][previous];
            if (word & BALANCE_MASK != 0) {
                ids[j] = id;
                amounts[j] = word & BALANCE_MASK;
                ++j;
            }
        }
        if (held != 0) emit TransferBatch(msg.sender, previous, successor, ids, amounts);
        emit BalancesRecovered(previous, successor, ids, amounts);
    }

    /// @notice Sets the ERC-1155 metadata URI template (`{id}` is the scheme id); a council action.
    function setURI(string calldata uri_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setURI(uri_);
        emit MetadataURIChanged(uri_);
    }

    // --- ERC-1155 transfers are closed: points move only under scheme rules --------------------

    /// @dev Always reverts: members cannot approve operators.
    function setApprovalForAll(address operator, bool) public view override {
        revert PointsTransferNotAllowed(_msgSender(), operator);
    }

    /// @dev Always reverts: no free transfers; gifts and exchange have their own functions.
    function safeTransferFrom(address from, address to, uint256, uint256, bytes memory) public pure override {
        revert PointsTransferNotAllowed(from, to);
    }

    /// @dev Always reverts, as safeTransferFrom.
    function safeBatchTransferFrom(address from, address to, uint256[] memory, uint256[] memory, bytes memory)
        public
        pure
        override
    {
        revert PointsTransferNotAllowed(from, to);
    }

    // --- views ---------------------------------------------------------------------------------

    function balanceOf(address account, uint256 schemeId) public view override returns (uint256) {
        return _accounts[schemeId][account] & BALANCE_MASK;
    }

    /// @inheritdoc IPointsLedger
    function standing(uint256 schemeId, address member) external view returns (Standing memory s) {
        uint256 word = _accounts[schemeId][member];
        s.balance = word & BALANCE_MASK;
        s.lastEnd = uint40(word >> 88);
        s.day = uint16(word >> 128);
        s.dayRecords = _get(word, 144, 6);
        s.dayMinutes = _get(word, 150, 11);
        s.dayPoints = _get(word, 161, 28);
        s.weekPoints = _get(word, 189, 36);
        s.epoch = _get(word, EPOCH_SHIFT, EPOCH_BITS);
    }

    /// @notice Points of a scheme in members' hands: issued minus burned (as ERC1155Supply).
    function totalSupply(uint256 schemeId) public view returns (uint256) {
        return _issued[schemeId] - _burned[schemeId];
    }

    /// @notice Points of every scheme in members' hands.
    function totalSupply() external view returns (uint256 supply) {
        uint256 count = _schemes.schemeCount();
        for (uint256 id = 1; id <= count; ++id) {
            supply += totalSupply(id);
        }
    }

    function exists(uint256 schemeId) external view returns (bool) {
        return totalSupply(schemeId) > 0;
    }

    function issued(uint256 schemeId) external view returns (uint256) {
        return _issued[schemeId];
    }

    function burned(uint256 schemeId) external view returns (uint256) {
        return _burned[schemeId];
    }

    function isPaid(bytes32 source) external view returns (bool) {
        return _paid[source];
    }

    /// @notice Points issued in the scheme's current quota window.
    function quotaUsed(uint256 schemeId) external view returns (uint256 used) {
        (, used,) = _quotaWindow(schemeId, _schemes.scheme(schemeId).quotaPeriod);
    }

    /// @notice The current quota window: block time divided by the quota period.
    function currentPeriod(uint256 schemeId) external view returns (uint256) {
        return block.timestamp / _schemes.scheme(schemeId).quotaPeriod;
    }

    function remainingQuota(uint256 schemeId) external view returns (uint256) {
        ISchemeRegistry.Scheme memory s = _schemes.scheme(schemeId);
        (, uint256 used,) = _quotaWindow(schemeId, s.quotaPeriod);
        return used >= s.quota ? 0 : s.quota - used;
    }

    function memberRegistry() external view returns (address) {
        return address(_members);
    }

    function schemeRegistry() external view returns (address) {
        return address(_schemes);
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // --- internals -----------------------------------------------------------------------------

    /// @dev Checks and pays record `i` of a batch into its member's account word.
    function _payRow(
        BatchTerms memory terms,
        mapping(address => uint256) storage accounts,
        bytes calldata records,
        uint256 i,
        uint256 submittedDay,
        uint256 epochBits
    ) private returns (address member, uint256 points) {
        uint40 start;
        uint40 end;
        uint8 code;
        (member,, start, end, code) = BatchRecords.read(records, i);
        points = _checkRow(terms, submittedDay, member, start, end, code, i);
        uint256 word = accounts[member];
        if (word & EPOCH_MASK != epochBits) {
            if (_members.statusOf(member) != IMemberRegistry.MemberStatus.Active) {
                revert PointsBatchRefused(i, Problem.NotActive, uint160(member));
            }
            word = (word & ~EPOCH_MASK) | epochBits;
        }
        uint256 serviceMinutes;
        unchecked {
            serviceMinutes = terms.duration ? (end - start) / 60 : 0;
        }
        Problem problem;
        uint256 detail;
        (word, problem, detail) = _earn(word, terms.limits, start, end, serviceMinutes, points);
        if (problem != Problem.None) revert PointsBatchRefused(i, problem, detail);
        accounts[member] = _credit(word, points);
    }

    /// @dev The checks on one batch record that need no storage; returns its points.
    function _checkRow(
        BatchTerms memory t,
        uint256 submittedDay,
        address member,
        uint40 start,
        uint40 end,
        uint8 code,
        uint256 i
    ) private pure returns (uint256 points) {
        if (member == t.reviewer || member == t.submitter) {
            revert PointsBatchRefused(i, Problem.SelfReview, uint160(member));
        }
        unchecked {
            if (end < start || end - start > MAX_RECORD_SECONDS || (t.duration && end - start < 60)) {
                revert PointsBatchRefused(i, Problem.InvalidTimes, start);
            }
            if (end > t.submittedAt) revert PointsBatchRefused(i, Problem.InFuture, end);
            if (ServiceTime.workingDaysBetween(ServiceTime.dayOf(end), submittedDay) > t.limits.lateWorkingDays) {
                revert PointsBatchRefused(i, Problem.Late, end);
            }
            // Bounded: minutes <= 1440, points per hour <= 1e6, coefficient <= 1e4.
            if (t.duration) {
                if (code >= t.grades.length) revert PointsBatchRefused(i, Problem.UnknownGrade, code);
                points = (((end - start) / 60) * t.pointsPerHour * t.grades[code]) / 60_000;
            } else {
                if (code >= t.actionPoints.length) revert PointsBatchRefused(i, Problem.UnknownAction, code);
                points = t.actionPoints[code];
            }
        }
    }

    /// @dev Applies one paid service to an account word: in time order, within the day's and the
    /// week's caps (by the day the service started). Returns the new word, or the first problem.
    /// Service times are never later than now, so the day number fits its 16 bits until 2149.
    function _earn(
        uint256 word,
        Limits memory limits,
        uint256 start,
        uint256 end,
        uint256 serviceMinutes,
        uint256 points
    ) private pure returns (uint256, Problem, uint256) {
        unchecked {
            uint256 lastEnd = uint40(word >> 88);
            // An instant (a reported action) must come strictly after the latest paid service, so
            // the same report can never be paid twice at the same second.
            if (start < lastEnd || (start == end && start == lastEnd && lastEnd != 0)) {
                return (word, Problem.Overlap, lastEnd);
            }
            uint256 day = ServiceTime.dayOf(start);
            uint256 storedDay = uint16(word >> 128);
            uint256 dayRecords = 1;
            uint256 dayMinutes = serviceMinutes;
            uint256 dayPoints = points;
            uint256 weekPoints = points;
            if (day == storedDay) {
                dayRecords += _get(word, 144, 6);
                dayMinutes += _get(word, 150, 11);
                dayPoints += _get(word, 161, 28);
            }
            if (ServiceTime.weekOf(day) == ServiceTime.weekOf(storedDay)) weekPoints += _get(word, 189, 36);
            if (dayRecords > limits.recordsPerDay) return (word, Problem.RecordsPerDay, limits.recordsPerDay);
            if (dayMinutes > limits.minutesPerDay) return (word, Problem.MinutesPerDay, limits.minutesPerDay);
            if (dayPoints > limits.pointsPerDay) return (word, Problem.PointsPerDay, limits.pointsPerDay);
            if (weekPoints > limits.pointsPerWeek) return (word, Problem.PointsPerWeek, limits.pointsPerWeek);
            return (
                (word & (BALANCE_MASK | EPOCH_MASK)) | (end << 88) | (day << 128) | (dayRecords << 144)
                    | (dayMinutes << 150) | (dayPoints << 161) | (weekPoints << 189),
                Problem.None,
                0
            );
        }
    }

    function _credit(uint256 word, uint256 amount) private pure returns (uint256) {
        if ((word & BALANCE_MASK) + amount > MAX_BALANCE) revert PointsInvalidAmount(amount);
        return word + amount;
    }

    function _get(uint256 word, uint256 shift, uint256 bits) private pure returns (uint256) {
        return (word >> shift) & ((1 << bits) - 1);
    }

    function _set(uint256 word, uint256 shift, uint256 bits, uint256 value) private pure returns (uint256) {
        uint256 mask = ((1 << bits) - 1) << shift;
        return (word & ~mask) | ((value << shift) & mask);
    }

    /// @dev `total - min(old, total) + updated`: a count with one contribution replaced.
    function _adjust(uint256 total, uint256 old, uint256 updated) private pure returns (uint256) {
        return total - (old < total ? old : total) + updated;
    }

    /// @dev The registry's status epoch as the account word keeps it: never 0, so an account
    /// never written (an unregistered address) never looks checked. It repeats only after 2^31 - 1
    /// freezes and recoveries.
    function _epochBits() private view returns (uint256) {
        return ((_members.statusEpoch() % ((1 << EPOCH_BITS) - 1)) + 1) << EPOCH_SHIFT;
    }

    /// @dev Marks `source` paid and counts `amount` against the scheme's quota window.
    function _useQuota(uint256 schemeId, uint256 amount, bytes32 source) private returns (uint256 period) {
        if (source == bytes32(0)) revert PointsInvalidSource(source);
        if (_paid[source]) revert PointsSourceAlreadyPaid(source);
        ISchemeRegistry.Scheme memory s = _schemes.scheme(schemeId);
        uint256 used;
        uint64 end;
        (period, used, end) = _quotaWindow(schemeId, s.quotaPeriod);
        uint256 remaining = used >= s.quota ? 0 : s.quota - used;
        if (amount > remaining) revert PointsQuotaExceeded(schemeId, period, amount, remaining);
        _paid[source] = true;
        _usage[schemeId] = QuotaUsage(uint64(period * s.quotaPeriod), end, uint128(used + amount));
        _issued[schemeId] += amount;
    }

    /// @dev Windows are aligned to the Unix epoch. What was issued counts for as long as any
    /// window it was counted in lasts: while the stored window still reaches into the current one,
    /// its use carries over and the stored end only ever moves later. So no change of period,
    /// however often, hands out the quota twice within one window.
    function _quotaWindow(uint256 schemeId, uint64 quotaPeriod)
        private
        view
        returns (uint256 period, uint256 used, uint64 end)
    {
        QuotaUsage memory u = _usage[schemeId];
        period = block.timestamp / quotaPeriod;
        uint256 start = period * quotaPeriod;
        uint256 windowEnd = start + quotaPeriod;
        if (u.end > start) {
            used = u.used;
            end = u.end > windowEnd ? u.end : uint64(windowEnd);
        } else {
            end = uint64(windowEnd);
        }
    }

    /// @dev ISSUANCE_ROLE goes only to contracts (service records, exchange): a key that could
    /// mint at will would be points without a record behind them.
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (role == ISSUANCE_ROLE && account.code.length == 0) revert PointsIssuerNotContract(account);
        return super._grantRole(role, account);
    }

    /// @dev OpenZeppelin's balance storage is never used: every movement is one of the functions
    /// above, on the packed account words.
    function _update(address from, address to, uint256[] memory, uint256[] memory) internal pure override {
        revert PointsTransferNotAllowed(from, to);
    }

    function _requireActive(address account, IMemberRegistry.MemberStatus status) private pure {
        if (status == IMemberRegistry.MemberStatus.Frozen) revert PointsMemberFrozen(account);
        if (status != IMemberRegistry.MemberStatus.Active) revert PointsNotAMember(account);
    }

    function _msgSender() internal view override(Context, Governed) returns (address) {
        return Governed._msgSender();
    }

    function _msgData() internal view override(Context, Governed) returns (bytes calldata) {
        return Governed._msgData();
    }

    function _contextSuffixLength() internal view override(Context, Governed) returns (uint256) {
        return Governed._contextSuffixLength();
    }
}
