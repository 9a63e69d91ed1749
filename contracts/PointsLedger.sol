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
/// points that day (28) | points that week (36) | member-status epoch (29; see _epochBits) |
/// may hold expiring lots (1) | has frozen points (1): the flags spare a debit the reads of an
/// account's lot queue and frozen amount where it has none.
/// Only active members receive points; issuance checks the scheme's quota per period.
contract PointsLedger is IPointsLedger, ERC1155, Governed {
    /// @notice Held by the contracts that decide when points are due (service records, exchange).
    bytes32 public constant ISSUANCE_ROLE = keccak256("ISSUANCE_ROLE");
    /// @notice Held by the contracts through which members spend (exchange, catalogue, time bank,
    /// community fund): they move, hold, burn and (the exchange) create points under their rules.
    bytes32 public constant SPENDING_ROLE = keccak256("SPENDING_ROLE");
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
    uint256 private constant EPOCH_BITS = 29;
    uint256 private constant EPOCH_MASK = ((1 << EPOCH_BITS) - 1) << EPOCH_SHIFT;
    /// Set once an account's lot queue was ever written (its lots may be gone since).
    uint256 private constant LOTS_FLAG = 1 << 254;
    /// Set while part of the account is frozen.
    uint256 private constant FROZEN_FLAG = 1 << 255;
    uint256 private constant FLAGS = LOTS_FLAG | FROZEN_FLAG;
    /// Lot queues start here so that earlier lots can be put before the first one.
    uint256 private constant LOT_BASE = 1 << 31;
    /// Marks a holder's count in `_held` as written (it stays so at zero).
    uint256 private constant KEPT = 1 << 255;

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
    /// Points created by spending contracts (exchange in), outside the issuance quota.
    mapping(uint256 schemeId => uint256) private _minted;
    /// Points each spending contract holds of each scheme. The holder keeps the record of each hold
    /// (its order or request: owner, amount, the lots the points came from) and gives it back to
    /// settle it; the ledger keeps that no holder settles more than it holds, so a hold costs no
    /// record of its own here. Stored with KEPT set, so that a count back at zero is never an
    /// empty slot again (filling one costs 20,000 gas; rewriting one 2,900).
    mapping(uint256 schemeId => mapping(address holder => uint256)) private _held;
    mapping(uint256 schemeId => mapping(address account => uint256)) private _frozen;
    /// Expiring lots of an account, oldest expiry first. Key 0 holds the queue: head (32 bits) |
    /// tail (32) | the newest lot (112); keys [head, tail) hold the older lots. A lot is its expiry
    /// month (24 bits) | amount (88) << 24. Points of the balance in no lot never expire.
    mapping(uint256 schemeId => mapping(address account => mapping(uint256 key => uint256))) private _lots;
    /// Every account ever granted SPENDING_ROLE: whose holds make up the ledger's own balance.
    address[] private _spenders;

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
        ISchemeRegistry.LedgerTerms memory t = _open(schemeId);
        _requireActive(member, _members.statusOf(member));
        uint256 period = _useQuota(schemeId, t, amount, source);
        _accounts[schemeId][member] = _credit(_creditTerms(schemeId, t.policy), member, _accounts[schemeId][member], amount);
        emit TransferSingle(_msgSender(), address(0), member, schemeId, amount);
        emit PointsIssued(schemeId, member, source, amount, period, _msgSender());
    }

    /// @inheritdoc IPointsLedger
    function earn(uint256 schemeId, address member, Service calldata service, Limits calldata limits, bytes32 source)
        external
        onlyRole(ISSUANCE_ROLE)
    {
        ISchemeRegistry.LedgerTerms memory t = _open(schemeId);
        _requireActive(member, _members.statusOf(member));
        uint256 amount = service.points;
        (uint256 word, Problem problem, uint256 detail) =
            _earn(_accounts[schemeId][member], limits, service.start, service.end, service.serviceMinutes, amount);
        if (problem == Problem.Overlap) revert PointsOverlap(member, service.start, uint40(detail));
        if (problem != Problem.None) revert PointsCap(member, problem, detail);
        word = (word & ~EPOCH_MASK) | _epochBits();
        uint256 period = _useQuota(schemeId, t, amount, source);
        _accounts[schemeId][member] = _credit(_creditTerms(schemeId, t.policy), member, word, amount);
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
        ISchemeRegistry.LedgerTerms memory lt = _open(schemeId);
        uint256 count = records.length / RECORD_SIZE;
        mapping(address => uint256) storage accounts = _accounts[schemeId];
        uint256 epochBits = _epochBits();
        uint256 onTimeFrom =
            ServiceTime.firstOnTimeDay(ServiceTime.dayOf(terms.submittedAt), terms.limits.lateWorkingDays);
        BatchTerms memory t = terms;
        Credit memory credit = _creditTerms(schemeId, lt.policy);
        address operator = _msgSender();
        for (uint256 i = 0; i < count;) {
            (address member, uint256 points) = _payRow(t, accounts, records, i, onTimeFrom, epochBits, credit);
            if (points != 0) emit TransferSingle(operator, address(0), member, schemeId, points);
            unchecked {
                total += points;
                ++i;
            }
        }
        uint256 period = _useQuota(schemeId, lt, total, source);
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
        ISchemeRegistry.LedgerTerms memory t = _open(schemeId);
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
            _useQuota(schemeId, t, more, source);
            word = _credit(_creditTerms(schemeId, t.policy), member, word, more);
            emit TransferSingle(operator, address(0), member, schemeId, more);
        } else {
            if (source == bytes32(0)) revert PointsInvalidSource(source);
            if (_paid[source]) revert PointsSourceAlreadyPaid(source);
            _paid[source] = true;
            uint256 less = previous.points - corrected.points;
            if (less != 0) {
                // A correction takes points back even where they are frozen (it may be what the
                // investigation found), but never expired ones, which have left supply already.
                mapping(uint256 => uint256) storage lots = _lots[schemeId][member];
                word -= _sweep(schemeId, member, lots);
                uint256 balance = word & BALANCE_MASK;
                if (balance < less) revert PointsInsufficientBalance(member, schemeId, balance, less);
                _takeLots(lots, less);
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
            _moveLots(_lots[id][previous], _lots[id][successor]);
            uint256 frozen = _frozen[id][previous];
            if (frozen != 0) {
                _frozen[id][successor] = frozen;
                delete _frozen[id][previous];
            }
            if (word & BALANCE_MASK != 0) {
                ids[j] = id;
                amounts[j] = word & BALANCE_MASK;
                ++j;
            }
        }
        if (held != 0) emit TransferBatch(msg.sender, previous, successor, ids, amounts);
        emit BalancesRecovered(previous, successor, ids, amounts);
    }

    // --- spending: through the exchange, catalogue, time bank and community fund ---------------

    /// @inheritdoc IPointsLedger
    /// @dev One entry for both sides, so the member's status is read once; the caller's reference
    /// is not recorded as paid (the exchange numbers its exchanges, so each is new).
    function convert(uint256 fromScheme, uint256 toScheme, address member, uint256 used, uint256 out, bytes32 ref)
        external
        onlyRole(SPENDING_ROLE)
    {
        _openToSpend(fromScheme);
        _requireActive(member, _members.statusOf(member));
        _burn(fromScheme, member, used, ref);
        if (out == 0 || out > MAX_BALANCE) revert PointsInvalidAmount(out);
        _create(toScheme, _openToSpend(toScheme), member, out, ref);
    }

    /// @dev Takes available points out of supply.
    function _burn(uint256 schemeId, address member, uint256 amount, bytes32 ref) private {
        _debit(schemeId, member, amount);
        _burned[schemeId] += amount;
        address operator = _msgSender();
        emit TransferSingle(operator, member, address(0), schemeId, amount);
        emit PointsBurned(schemeId, member, ref, amount, operator);
    }

    /// @dev Creates points outside the issuance quota, within the supply limit and maximum balance.
    function _create(uint256 schemeId, ISchemeRegistry.Policy memory p, address member, uint256 amount, bytes32 ref)
        private
    {
        _checkSupply(schemeId, p.supplyLimit, amount);
        _minted[schemeId] += amount;
        _accounts[schemeId][member] = _credit(_creditTerms(schemeId, p), member, _accounts[schemeId][member], amount);
        address operator = _msgSender();
        emit TransferSingle(operator, address(0), member, schemeId, amount);
        emit PointsMinted(schemeId, member, ref, amount, operator);
    }

    /// @inheritdoc IPointsLedger
    /// @dev Either side may be a spending contract (a community fund holds points in its own account).
    function move(uint256 schemeId, address from, address to, uint256 amount, bytes32 ref)
        external
        onlyRole(SPENDING_ROLE)
    {
        ISchemeRegistry.Policy memory p = _openToSpend(schemeId);
        bool fromContract = _requireHolder(from);
        bool toContract = _requireHolder(to);
        if (from == to) revert PointsInvalidRecipient(to);
        uint256[] memory lots = _debit(schemeId, from, amount);
        // Points in a spending contract's account (a fund) do not expire; points it pays out
        // count from then, as new.
        if (toContract) lots = new uint256[](0);
        else if (fromContract) lots = _freshLots(_creditTerms(schemeId, p).expiry, amount);
        _receive(schemeId, p.maxBalance, to, amount, lots);
        address operator = _msgSender();
        emit TransferSingle(operator, from, to, schemeId, amount);
        emit PointsMoved(schemeId, from, to, amount, ref, operator);
    }

    /// @inheritdoc IPointsLedger
    function hold(uint256 schemeId, address owner, uint256 amount, bytes32 ref)
        external
        onlyRole(SPENDING_ROLE)
        returns (uint256[] memory lots)
    {
        _openToSpend(schemeId);
        _requireActive(owner, _members.statusOf(owner));
        lots = _debit(schemeId, owner, amount);
        address holder = _msgSender();
        _held[schemeId][holder] = (_held[schemeId][holder] + amount) | KEPT;
        emit TransferSingle(holder, owner, address(this), schemeId, amount);
        emit PointsHeld(_holdNumber(ref), schemeId, owner, amount, ref, holder);
    }

    /// @inheritdoc IPointsLedger
    /// @dev The points burned are the held points that expire first, then those paid, and the rest
    /// returns. Returning needs nothing of the owner (a frozen owner gets their points back).
    function settleHold(Hold calldata h, address payee, uint256 toPayee, uint256 toBurn)
        external
        onlyRole(SPENDING_ROLE)
    {
        uint256 schemeId = h.schemeId;
        uint256 amount = h.amount;
        uint256 holdId = _holdNumber(h.ref);
        address operator = _msgSender();
        uint256 held = _held[schemeId][operator] & ~KEPT;
        if (amount == 0 || amount > held) revert PointsHoldExceeded(holdId, held, amount);
        if (toPayee > amount || toBurn > amount - toPayee) revert PointsHoldExceeded(holdId, amount, toPayee + toBurn);
        uint256 maxBalance = _openToSpend(schemeId).maxBalance;
        _held[schemeId][operator] = (held - amount) | KEPT;
        uint256[] memory lots = h.lots;
        uint256[] memory part;
        if (toBurn != 0) {
            (, lots) = _splitLots(lots, toBurn);
            _burned[schemeId] += toBurn;
            emit TransferSingle(operator, address(this), address(0), schemeId, toBurn);
        }
        if (toPayee != 0) {
            (part, lots) = _splitLots(lots, toPayee);
            if (_requireHolder(payee)) part = new uint256[](0);
            _receive(schemeId, maxBalance, payee, toPayee, part);
            emit TransferSingle(operator, address(this), payee, schemeId, toPayee);
        }
        uint256 returned = amount - toPayee - toBurn;
        if (returned != 0) {
            address owner = _current(h.owner);
            _receive(schemeId, 0, owner, returned, lots);
            emit TransferSingle(operator, address(this), owner, schemeId, returned);
        }
        emit HoldSettled(holdId, payee, toPayee, toBurn, returned);
    }

    /// @inheritdoc IPointsLedger
    function expire(uint256 schemeId, address[] calldata accounts) external returns (uint256 total) {
        _openToSpend(schemeId);
        mapping(address => mapping(uint256 => uint256)) storage lots = _lots[schemeId];
        for (uint256 i = 0; i < accounts.length; ++i) {
            address account = accounts[i];
            uint256 expired = _sweep(schemeId, account, lots[account]);
            if (expired != 0) {
                _accounts[schemeId][account] -= expired;
                total += expired;
            }
        }
    }

    // --- compliance ----------------------------------------------------------------------------

    /// @notice Freezes (`increase`) or releases part of a member's balance pending an
    /// investigation: frozen points cannot be spent, given or held. By the scheme's issuer or the
    /// council; `caseRef` names the case (a hash of its reference, kept off chain).
    function setFrozen(uint256 schemeId, address member, uint256 amount, bool increase, bytes32 caseRef) external {
        address sender = _msgSender();
        if (sender != _schemes.issuerOf(schemeId) && !hasRole(DEFAULT_ADMIN_ROLE, sender)) {
            revert PointsUnauthorizedCaller(sender);
        }
        if (amount == 0 || amount > MAX_BALANCE) revert PointsInvalidAmount(amount);
        if (caseRef == bytes32(0)) revert PointsInvalidSource(caseRef);
        uint256 frozen = _frozen[schemeId][member];
        if (increase) {
            uint256 available = availableOf(schemeId, member);
            if (amount > available) revert PointsInsufficientBalance(member, schemeId, available, amount);
            frozen += amount;
        } else {
            if (amount > frozen) revert PointsNotFrozen(member, schemeId, frozen, amount);
            frozen -= amount;
        }
        _frozen[schemeId][member] = frozen;
        uint256 word = _accounts[schemeId][member];
        _accounts[schemeId][member] = frozen == 0 ? word & ~FROZEN_FLAG : word | FROZEN_FLAG;
        emit PointsFrozen(schemeId, member, caseRef, frozen, sender);
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

    /// @notice Points a member can spend now: the balance less expired (not yet swept) and frozen points.
    function availableOf(uint256 schemeId, address member) public view returns (uint256) {
        uint256 balance = (_accounts[schemeId][member] & BALANCE_MASK) - _expiredOf(_lots[schemeId][member]);
        uint256 frozen = _frozen[schemeId][member];
        return balance > frozen ? balance - frozen : 0;
    }

    function frozenOf(uint256 schemeId, address member) external view returns (uint256) {
        return _frozen[schemeId][member];
    }

    /// @notice A member's expiring points, oldest first: each lot's expiry month (months since
    /// January 1970, China Standard Time; the points expire when it starts) and amount. Points of
    /// the balance in no lot never expire.
    function lotsOf(uint256 schemeId, address member)
        external
        view
        returns (uint256[] memory expiries, uint256[] memory amounts)
    {
        mapping(uint256 => uint256) storage lots = _lots[schemeId][member];
        uint256 meta = lots[0];
        (uint256 head, uint256 tail, uint256 last) = (uint32(meta), uint32(meta >> 32), meta >> 64);
        uint256 count = last == 0 ? 0 : tail - head + 1;
        expiries = new uint256[](count);
        amounts = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            uint256 lot = i + 1 == count ? last : lots[head + i];
            expiries[i] = uint24(lot);
            amounts[i] = lot >> 24;
        }
    }

    /// @notice Points of a scheme held for spending contracts (orders, time-bank requests).
    function heldTotal(uint256 schemeId) public view returns (uint256 total) {
        for (uint256 i = 0; i < _spenders.length; ++i) {
            total += _held[schemeId][_spenders[i]] & ~KEPT;
        }
    }

    /// @notice Points of a scheme that one spending contract holds.
    function heldBy(uint256 schemeId, address holder) external view returns (uint256) {
        return _held[schemeId][holder] & ~KEPT;
    }

    function minted(uint256 schemeId) external view returns (uint256) {
        return _minted[schemeId];
    }

    /// @notice The month number (months since January 1970, China Standard Time) of now.
    function currentMonth() external view returns (uint256) {
        return ServiceTime.monthOf(block.timestamp);
    }

    function balanceOf(address account, uint256 schemeId) public view override returns (uint256) {
        if (account == address(this)) return heldTotal(schemeId);
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

    /// @notice Points of a scheme in existence, as ERC1155Supply has it: issued and minted less
    /// burned (redeemed, exchanged out, corrected, expired); equal to the sum of all balances and
    /// holds (the ledger's own ERC-1155 balance is what is held).
    function totalSupply(uint256 schemeId) public view returns (uint256) {
        return _issued[schemeId] + _minted[schemeId] - _burned[schemeId];
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
        (, used,) = _quotaWindow(schemeId, _schemes.ledgerTerms(schemeId).quotaPeriod);
    }

    /// @notice The current quota window: block time divided by the quota period.
    function currentPeriod(uint256 schemeId) external view returns (uint256) {
        return block.timestamp / _schemes.ledgerTerms(schemeId).quotaPeriod;
    }

    function remainingQuota(uint256 schemeId) external view returns (uint256) {
        ISchemeRegistry.LedgerTerms memory s = _schemes.ledgerTerms(schemeId);
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
        uint256 onTimeFrom,
        uint256 epochBits,
        Credit memory credit
    ) private returns (address member, uint256 points) {
        uint40 start;
        uint40 end;
        uint8 code;
        (member,, start, end, code) = BatchRecords.read(records, i);
        points = _checkRow(terms, onTimeFrom, member, start, end, code, i);
        // The account's slot, found once for the read and the write.
        uint256 slot;
        uint256 word;
        assembly ("memory-safe") {
            mstore(0, member)
            mstore(32, accounts.slot)
            slot := keccak256(0, 64)
            word := sload(slot)
        }
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
        word = _credit(credit, member, word, points);
        assembly ("memory-safe") {
            sstore(slot, word)
        }
    }

    /// @dev The checks on one batch record that need no storage; returns its points.
    function _checkRow(
        BatchTerms memory t,
        uint256 onTimeFrom,
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
            if (ServiceTime.dayOf(end) < onTimeFrom) {
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
                dayRecords += (word >> 144) & 0x3f;
                dayMinutes += (word >> 150) & 0x7ff;
                dayPoints += (word >> 161) & 0xfffffff;
            }
            if (ServiceTime.weekOf(day) == ServiceTime.weekOf(storedDay)) weekPoints += (word >> 189) & 0xfffffffff;
            if (dayRecords > limits.recordsPerDay) return (word, Problem.RecordsPerDay, limits.recordsPerDay);
            if (dayMinutes > limits.minutesPerDay) return (word, Problem.MinutesPerDay, limits.minutesPerDay);
            if (dayPoints > limits.pointsPerDay) return (word, Problem.PointsPerDay, limits.pointsPerDay);
            if (weekPoints > limits.pointsPerWeek) return (word, Problem.PointsPerWeek, limits.pointsPerWeek);
            uint256 updated = word & (BALANCE_MASK | EPOCH_MASK | FLAGS);
            assembly ("memory-safe") {
                updated := or(
                    updated,
                    or(
                        or(shl(88, end), shl(128, day)),
                        or(or(shl(144, dayRecords), shl(150, dayMinutes)), or(shl(161, dayPoints), shl(189, weekPoints)))
                    )
                )
            }
            return (updated, Problem.None, 0);
        }
    }

    /// @dev What crediting new points of a scheme needs: its maximum balance and the expiry month
    /// of points created now (0: never).
    struct Credit {
        uint256 schemeId;
        uint256 maxBalance;
        uint256 expiry;
    }

    function _creditTerms(uint256 schemeId, ISchemeRegistry.Policy memory p)
        private
        view
        returns (Credit memory c)
    {
        c.schemeId = schemeId;
        c.maxBalance = p.maxBalance == 0 ? MAX_BALANCE : p.maxBalance;
        if (p.expiryMonths != 0) c.expiry = ServiceTime.monthOf(block.timestamp) + p.expiryMonths + 1;
    }

    /// @dev Adds newly created points to an account word, within the maximum balance, as a lot of
    /// the scheme's expiry.
    function _credit(Credit memory c, address account, uint256 word, uint256 amount) private returns (uint256) {
        // Both at most MAX_BALANCE: the sum fits, and one within the maximum carries into no flag.
        if (amount > MAX_BALANCE) revert PointsInvalidAmount(amount);
        uint256 balance;
        unchecked {
            balance = (word & BALANCE_MASK) + amount;
        }
        if (balance > c.maxBalance) revert PointsMaxBalance(account, c.schemeId, balance, c.maxBalance);
        if (c.expiry != 0 && amount != 0) {
            _addLot(_lots[c.schemeId][account], c.expiry, amount);
            word |= LOTS_FLAG;
        }
        unchecked {
            return word + amount;
        }
    }

    /// @dev Credits points that already exist (moved or returned) with their lots, within
    /// `maxBalance` (0: none; returns to an owner are not held to it: they were theirs).
    function _receive(uint256 schemeId, uint256 maxBalance, address account, uint256 amount, uint256[] memory lots)
        private
    {
        uint256 word = _accounts[schemeId][account];
        uint256 balance = (word & BALANCE_MASK) + amount;
        if (maxBalance == 0) maxBalance = MAX_BALANCE;
        if (balance > maxBalance) revert PointsMaxBalance(account, schemeId, balance, maxBalance);
        mapping(uint256 => uint256) storage accountLots = _lots[schemeId][account];
        for (uint256 i = 0; i < lots.length; ++i) {
            _addLot(accountLots, uint24(lots[i]), lots[i] >> 24);
        }
        if (lots.length != 0) word |= LOTS_FLAG;
        _accounts[schemeId][account] = word + amount;
    }

    function _freshLots(uint256 expiry, uint256 amount) private pure returns (uint256[] memory lots) {
        if (expiry != 0) {
            lots = new uint256[](1);
            lots[0] = expiry | (amount << 24);
        }
    }

    /// @dev Takes `amount` of an account's available points (its balance less expired and frozen
    /// points), after burning its expired points; returns the lots they came from.
    function _debit(uint256 schemeId, address account, uint256 amount) private returns (uint256[] memory lots) {
        if (amount == 0 || amount > MAX_BALANCE) revert PointsInvalidAmount(amount);
        mapping(uint256 => uint256) storage queue = _lots[schemeId][account];
        uint256 word = _accounts[schemeId][account];
        bool lotted = word & LOTS_FLAG != 0;
        if (lotted) word -= _sweep(schemeId, account, queue);
        uint256 balance = word & BALANCE_MASK;
        uint256 frozen = word & FROZEN_FLAG != 0 ? _frozen[schemeId][account] : 0;
        uint256 available = balance > frozen ? balance - frozen : 0;
        if (available < amount) revert PointsInsufficientBalance(account, schemeId, available, amount);
        _accounts[schemeId][account] = word - amount;
        if (lotted) lots = _takeLots(queue, amount);
    }

    /// @dev Burns an account's lots whose expiry month has begun; returns how many points (the
    /// caller takes them off the account word).
    function _sweep(uint256 schemeId, address account, mapping(uint256 => uint256) storage lots)
        private
        returns (uint256 total)
    {
        uint256 meta = lots[0];
        if (meta >> 64 == 0) return 0;
        uint256 month = ServiceTime.monthOf(block.timestamp);
        (uint256 head, uint256 tail, uint256 last) = (uint32(meta), uint32(meta >> 32), meta >> 64);
        while (true) {
            uint256 lot = head < tail ? lots[head] : last;
            if (lot == 0 || uint24(lot) > month) break;
            total += lot >> 24;
            emit PointsExpired(schemeId, account, lot >> 24, uint24(lot));
            if (head < tail) {
                delete lots[head];
                ++head;
            } else {
                last = 0;
                break;
            }
        }
        if (total != 0) {
            lots[0] = head | (tail << 32) | (last << 64);
            _burned[schemeId] += total;
            emit TransferSingle(_msgSender(), account, address(0), schemeId, total);
        }
    }

    /// @dev Expired points of an account not yet swept.
    function _expiredOf(mapping(uint256 => uint256) storage lots) private view returns (uint256 total) {
        uint256 meta = lots[0];
        if (meta >> 64 == 0) return 0;
        uint256 month = ServiceTime.monthOf(block.timestamp);
        (uint256 head, uint256 tail, uint256 last) = (uint32(meta), uint32(meta >> 32), meta >> 64);
        for (;; ++head) {
            uint256 lot = head < tail ? lots[head] : last;
            if (uint24(lot) > month) break;
            total += lot >> 24;
            if (head >= tail) break;
        }
    }

    /// @dev Adds a lot in expiry order: after the newest if not earlier, before the oldest if not
    /// later; one falling between joins the oldest lot (its validity shortened, never lengthened).
    function _addLot(mapping(uint256 => uint256) storage lots, uint256 expiry, uint256 amount) private {
        uint256 meta = lots[0];
        uint256 lot = expiry | (amount << 24);
        (uint256 head, uint256 tail, uint256 last) = (uint256(uint32(meta)), uint256(uint32(meta >> 32)), meta >> 64);
        if (meta == 0) (head, tail) = (LOT_BASE, LOT_BASE);
        uint256 lastExpiry = uint24(last);
        if (last == 0) {
            last = lot;
        } else if (expiry == lastExpiry) {
            last += amount << 24;
        } else if (expiry > lastExpiry) {
            lots[tail] = last;
            ++tail;
            last = lot;
        } else if (head == tail || expiry < uint24(lots[head])) {
            --head;
            lots[head] = lot;
        } else {
            lots[head] += amount << 24;
        }
        lots[0] = head | (tail << 32) | (last << 64);
    }

    /// @dev Takes `amount` from an account's lots, oldest first; returns the lots taken (the rest
    /// of `amount`, if any, came from points that never expire).
    function _takeLots(mapping(uint256 => uint256) storage lots, uint256 amount)
        private
        returns (uint256[] memory taken)
    {
        uint256 meta = lots[0];
        if (meta >> 64 == 0) return taken;
        (uint256 head, uint256 tail, uint256 last) = (uint32(meta), uint32(meta >> 32), meta >> 64);
        taken = new uint256[](tail - head + 1);
        uint256 n = 0;
        while (amount != 0 && last != 0) {
            uint256 lot = head < tail ? lots[head] : last;
            uint256 lotAmount = lot >> 24;
            uint256 used = lotAmount > amount ? amount : lotAmount;
            taken[n++] = uint24(lot) | (used << 24);
            amount -= used;
            uint256 left = lot - (used << 24);
            if (head < tail) {
                if (lotAmount > used) {
                    lots[head] = left;
                } else {
                    delete lots[head];
                    ++head;
                }
            } else {
                last = lotAmount > used ? left : 0;
            }
        }
        lots[0] = head | (tail << 32) | (last << 64);
        assembly ("memory-safe") {
            mstore(taken, n)
        }
    }

    /// @dev Splits a list of lots (plus points in no lot) at `amount`, oldest first.
    function _splitLots(uint256[] memory lots, uint256 amount)
        private
        pure
        returns (uint256[] memory first, uint256[] memory rest)
    {
        first = new uint256[](lots.length);
        rest = new uint256[](lots.length);
        (uint256 a, uint256 b) = (0, 0);
        for (uint256 i = 0; i < lots.length; ++i) {
            uint256 lotAmount = lots[i] >> 24;
            uint256 used = lotAmount > amount ? amount : lotAmount;
            amount -= used;
            if (used != 0) first[a++] = uint24(lots[i]) | (used << 24);
            if (lotAmount > used) rest[b++] = lots[i] - (used << 24);
        }
        assembly ("memory-safe") {
            mstore(first, a)
            mstore(rest, b)
        }
    }

    function _moveLots(mapping(uint256 => uint256) storage from, mapping(uint256 => uint256) storage to) private {
        uint256 meta = from[0];
        if (meta == 0) return;
        for (uint256 key = uint32(meta); key < uint32(meta >> 32); ++key) {
            to[key] = from[key];
            delete from[key];
        }
        to[0] = meta;
        delete from[0];
    }

    /// @dev The account a member's points belong at now: theirs, or the one they were recovered to.
    function _current(address account) private view returns (address) {
        for (uint256 i = 0; i < 8; ++i) {
            if (_members.statusOf(account) != IMemberRegistry.MemberStatus.Recovered) return account;
            account = _members.successorOf(account);
        }
        return account;
    }

    /// @dev An active member, or a spending contract (a community fund holds points); returns
    /// whether it is a spending contract. The member's status first: most holders are members,
    /// whose role need not be read.
    function _requireHolder(address account) private view returns (bool) {
        IMemberRegistry.MemberStatus status = _members.statusOf(account);
        if (status == IMemberRegistry.MemberStatus.Active) return false;
        if (hasRole(SPENDING_ROLE, account)) return true;
        _requireActive(account, status);
        return false;
    }

    /// @dev The scheme's terms; reverts if its points are paused (or it is unknown).
    function _open(uint256 schemeId) private view returns (ISchemeRegistry.LedgerTerms memory t) {
        t = _schemes.ledgerTerms(schemeId);
        if (t.paused != 0) revert PointsPaused(t.paused == schemeId ? schemeId : 0);
    }

    /// @dev What spending needs of a scheme (its policy); reverts as `_open`.
    function _openToSpend(uint256 schemeId) private view returns (ISchemeRegistry.Policy memory) {
        ISchemeRegistry.PolicyTerms memory t = _schemes.policyTerms(schemeId);
        if (t.paused != 0) revert PointsPaused(t.paused == schemeId ? schemeId : 0);
        return t.policy;
    }

    function _checkSupply(uint256 schemeId, uint256 limit, uint256 amount) private view {
        if (limit == 0) return;
        uint256 supply = totalSupply(schemeId);
        if (supply + amount > limit) revert PointsSupplyLimit(schemeId, supply, amount, limit);
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
    /// never written (an unregistered address) never looks checked. It repeats only after 2^29 - 1
    /// freezes and recoveries.
    function _epochBits() private view returns (uint256) {
        return ((_members.statusEpoch() % ((1 << EPOCH_BITS) - 1)) + 1) << EPOCH_SHIFT;
    }

    /// @dev Marks `source` paid and counts `amount` against the scheme's quota window.
    function _useQuota(uint256 schemeId, ISchemeRegistry.LedgerTerms memory s, uint256 amount, bytes32 source)
        private
        returns (uint256 period)
    {
        if (source == bytes32(0)) revert PointsInvalidSource(source);
        if (_paid[source]) revert PointsSourceAlreadyPaid(source);
        uint256 used;
        uint64 end;
        (period, used, end) = _quotaWindow(schemeId, s.quotaPeriod);
        uint256 remaining = used >= s.quota ? 0 : s.quota - used;
        if (amount > remaining) revert PointsQuotaExceeded(schemeId, period, amount, remaining);
        _checkSupply(schemeId, s.policy.supplyLimit, amount);
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
        if ((role == ISSUANCE_ROLE || role == SPENDING_ROLE) && account.code.length == 0) {
            revert PointsIssuerNotContract(account);
        }
        bool granted = super._grantRole(role, account);
        if (granted && role == SPENDING_ROLE && !_wasSpender(account)) _spenders.push(account);
        return granted;
    }

    function _wasSpender(address account) private view returns (bool) {
        for (uint256 i = 0; i < _spenders.length; ++i) {
            if (_spenders[i] == account) return true;
        }
        return false;
    }

    /// @dev A hold's number in events: its reference less the kind byte (an order's or request's id).
    function _holdNumber(bytes32 ref) private pure returns (uint256) {
        return uint256(ref) & ((1 << 248) - 1);
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
