// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";
import {ServiceTime} from "./utils/ServiceTime.sol";
import {IExchange} from "./interfaces/IExchange.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IPointsLedger} from "./interfaces/IPointsLedger.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";

/// @dev The points ledger's views the exchange reads (not part of IPointsLedger).
interface IPointsBalances {
    function availableOf(uint256 schemeId, address member) external view returns (uint256);
    function balanceOf(address account, uint256 schemeId) external view returns (uint256);
    function totalSupply(uint256 schemeId) external view returns (uint256);
}

/// @title Exchange
/// @notice Cross-scheme exchange (积分通兑) at the values the council sets in the scheme registry,
/// within each scheme's limits, and real-time clearing between the schemes' issuers.
/// @dev Holds the points ledger's SPENDING_ROLE: an exchange burns the member's points of the
/// source scheme and creates points of the target scheme in one transaction. Rounding (see
/// IExchange) never creates value: the remainder of the amount asked stays with the member and the
/// dust below one target point's value stays with the source's issuer. Each exchange's value is
/// owed by the source scheme's issuer to the target's and netted per pair of schemes at once;
/// positions (owed to a scheme minus owed by it) always sum to zero.
contract Exchange is IExchange, Governed {
    /// Top byte of the ledger reference of an exchange's burn and mint: ref = 4 << 248 | id.
    uint256 public constant REF_EXCHANGE = 4;
    /// The most points one exchange moves on either side (the ledger's balance width).
    uint256 public constant MAX_AMOUNT = (1 << 88) - 1;
    uint32 private constant FLAG_EXCHANGE_OUT = 1;
    uint32 private constant FLAG_EXCHANGE_IN = 2;
    uint256 private constant MASK32 = (1 << 32) - 1;
    uint256 private constant MAX96 = (1 << 96) - 1;
    uint256 private constant MAX112 = (1 << 112) - 1;

    ISchemeRegistry private immutable _schemes;
    IMemberRegistry private immutable _members;
    IPointsLedger private immutable _ledger;

    mapping(uint256 schemeId => Limits) private _limits;
    /// One member's exchanges out of a scheme: day (32) | value that day (96) | month (32) | value
    /// that month (96); values saturate (limits are far below).
    mapping(uint256 schemeId => mapping(address member => uint256 word)) private _memberUse;
    /// A scheme's exchanges today: day (32) | value out (112) | value in (112).
    mapping(uint256 schemeId => uint256 word) private _schemeUse;
    /// The netted debt of each pair of schemes, one word a pair keyed by the lower id then the
    /// higher: positive when the lower scheme's issuer owes the higher's, negative the other way.
    mapping(uint256 low => mapping(uint256 high => int256)) private _net;
    mapping(uint256 payer => mapping(uint256 payee => uint256)) private _pending;
    mapping(uint256 settlementId => Settlement) private _settlements;
    uint256 private _settlementCount;
    uint256 private _exchangeCount;

    /// @dev An exchange's figures and the usage words it leaves.
    struct Figures {
        uint256 used;
        uint256 out;
        uint256 value;
        uint256 dust;
        uint256 memberWord;
        uint256 outWord;
        uint256 inWord;
    }

    constructor(
        address admin,
        address forwarder,
        ISchemeRegistry schemes,
        IMemberRegistry members,
        IPointsLedger ledger
    ) Governed(admin, forwarder) {
        _schemes = schemes;
        _members = members;
        _ledger = ledger;
    }

    // --- exchange ------------------------------------------------------------------------------

    /// @inheritdoc IExchange
    /// @dev Checks what `exchange` checks, and what the ledger will (pause, member status,
    /// available balance, the target's supply limit and maximum balance), in the order a
    /// transaction meets them; reports the first refusal as the custom error it would raise.
    function quote(address member, uint256 fromScheme, uint256 toScheme, uint256 amount)
        external
        view
        returns (Quote memory q)
    {
        ISchemeRegistry.SpendingTerms memory tA = _schemes.spendingTerms(fromScheme);
        ISchemeRegistry.SpendingTerms memory tB = _schemes.spendingTerms(toScheme);
        (q.fromValue, q.toValue) = (tA.unitValue, tB.unitValue);
        (q.fromNextValue, q.fromNextBlock) = _next(fromScheme);
        (q.toNextValue, q.toNextBlock) = _next(toScheme);
        Figures memory f;
        (f, q.problem) = _assess(member, fromScheme, toScheme, amount, q.fromValue, q.toValue, tA.flags, tB.flags);
        (q.used, q.out, q.value, q.dust) = (f.used, f.out, f.value, f.dust);
        if (q.problem.length == 0) q.problem = _ledgerProblem(member, fromScheme, toScheme, f, tA, tB);
    }

    /// @inheritdoc IExchange
    /// @dev The quoted values make a quote binding: a value change that took effect since (from its
    /// stated block) refuses the exchange instead of giving a different result.
    function exchange(
        address member,
        uint256 fromScheme,
        uint256 toScheme,
        uint256 amount,
        uint64 quotedFromValue,
        uint64 quotedToValue
    ) external returns (uint256 exchangeId) {
        address sender = _msgSender();
        if (sender != member && !_members.isProxy(member, sender)) revert ExchangeUnauthorized(member, sender);
        ISchemeRegistry.SpendingTerms memory tA = _schemes.spendingTerms(fromScheme);
        ISchemeRegistry.SpendingTerms memory tB = _schemes.spendingTerms(toScheme);
        (uint64 vA, uint64 vB) = (tA.unitValue, tB.unitValue);
        if (vA != quotedFromValue || vB != quotedToValue) {
            revert ExchangeStaleQuote(fromScheme, toScheme, quotedFromValue, quotedToValue, vA, vB);
        }
        (Figures memory f, bytes memory problem) = _assess(
            member,
            fromScheme,
            toScheme,
            amount,
            vA,
            vB,
            tA.flags,
            tB.flags
        );
        if (problem.length != 0) {
            assembly ("memory-safe") {
                revert(add(problem, 32), mload(problem))
            }
        }
        _memberUse[fromScheme][member] = f.memberWord;
        _schemeUse[fromScheme] = f.outWord;
        _schemeUse[toScheme] = f.inWord;
        exchangeId = ++_exchangeCount;
        _oblige(fromScheme, toScheme, f.value);
        bytes32 ref = bytes32((REF_EXCHANGE << 248) | exchangeId);
        emit Exchanged(member, fromScheme, toScheme, exchangeId, f.used, f.out, vA, vB, f.value, f.dust, sender);
        _ledger.convert(fromScheme, toScheme, member, f.used, f.out, ref);
    }

    /// @inheritdoc IExchange
    function setLimits(uint256 schemeId, Limits calldata limits) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_schemes.exists(schemeId)) revert ISchemeRegistry.SchemeUnknown(schemeId);
        _limits[schemeId] = limits;
        emit ExchangeLimitsChanged(schemeId, limits);
    }

    // --- clearing ------------------------------------------------------------------------------

    /// @inheritdoc IExchange
    function recordSettlement(uint256 payerScheme, uint256 payeeScheme, uint256 amount, bytes32 paymentRef)
        external
        returns (uint256 settlementId)
    {
        address sender = _msgSender();
        if (payerScheme == payeeScheme || amount == 0 || paymentRef == bytes32(0)) {
            revert ExchangeInvalidSettlement(payerScheme, payeeScheme, amount);
        }
        if (_schemes.issuerOf(payerScheme) != sender) revert ExchangeNotIssuer(payerScheme, sender);
        if (!_schemes.exists(payeeScheme)) revert ISchemeRegistry.SchemeUnknown(payeeScheme);
        uint256 owedNow = _owedBy(payerScheme, payeeScheme);
        uint256 pending = _pending[payerScheme][payeeScheme];
        uint256 open = owedNow > pending ? owedNow - pending : 0;
        if (amount > open) revert ExchangeSettlementExceedsOwed(payerScheme, payeeScheme, amount, open);
        _pending[payerScheme][payeeScheme] = pending + amount;
        settlementId = ++_settlementCount;
        _settlements[settlementId] = Settlement({
            payerScheme: uint64(payerScheme),
            payeeScheme: uint64(payeeScheme),
            recordedAt: uint64(block.timestamp),
            status: SettlementStatus.Pending,
            proposer: sender,
            amount: amount,
            paymentRef: paymentRef
        });
        emit SettlementRecorded(settlementId, payerScheme, payeeScheme, amount, paymentRef, sender);
    }

    /// @inheritdoc IExchange
    /// @dev A payment from A's issuer to B's offsets what A owes B as an obligation of B to A would;
    /// if exchanges from B to A meanwhile netted the debt below the payment, B now owes A the rest.
    function confirmSettlement(uint256 settlementId) external {
        Settlement storage s = _open(settlementId);
        address sender = _msgSender();
        if (_schemes.issuerOf(s.payeeScheme) != sender) revert ExchangeNotIssuer(s.payeeScheme, sender);
        s.status = SettlementStatus.Confirmed;
        _pending[s.payerScheme][s.payeeScheme] -= s.amount;
        _oblige(s.payeeScheme, s.payerScheme, s.amount);
        emit SettlementConfirmed(settlementId, s.payerScheme, s.payeeScheme, s.amount, sender);
    }

    /// @inheritdoc IExchange
    function cancelSettlement(uint256 settlementId) external {
        Settlement storage s = _open(settlementId);
        address sender = _msgSender();
        if (sender != s.proposer) revert ExchangeNotProposer(settlementId, sender, s.proposer);
        s.status = SettlementStatus.Cancelled;
        _pending[s.payerScheme][s.payeeScheme] -= s.amount;
        emit SettlementCancelled(settlementId, s.payerScheme, s.payeeScheme, s.amount, sender);
    }

    // --- views ---------------------------------------------------------------------------------

    function limitsOf(uint256 schemeId) external view returns (Limits memory) {
        return _limits[schemeId];
    }

    function owed(uint256 payerScheme, uint256 payeeScheme) external view returns (uint256 amount, uint256 pending) {
        return (_owedBy(payerScheme, payeeScheme), _pending[payerScheme][payeeScheme]);
    }

    /// @notice What a scheme's issuer is owed less what it owes, over every other scheme (debts
    /// are netted per pair, so this is a sum over the pairs; positions always sum to zero).
    function positionOf(uint256 schemeId) external view returns (int256 position) {
        uint256 count = _schemes.schemeCount();
        for (uint256 other = 1; other <= count; ++other) {
            position += int256(_owedBy(other, schemeId)) - int256(_owedBy(schemeId, other));
        }
    }

    function memberUsage(uint256 schemeId, address member) external view returns (uint256 today, uint256 month) {
        uint256 w = _memberUse[schemeId][member];
        if (w & MASK32 == ServiceTime.dayOf(block.timestamp)) today = (w >> 32) & MAX96;
        if ((w >> 128) & MASK32 == ServiceTime.monthOf(block.timestamp)) month = w >> 160;
    }

    function schemeUsage(uint256 schemeId) external view returns (uint256 outToday, uint256 inToday) {
        uint256 w = _schemeUse[schemeId];
        if (w & MASK32 == ServiceTime.dayOf(block.timestamp)) (outToday, inToday) = ((w >> 32) & MAX112, w >> 144);
    }

    function settlement(uint256 settlementId) external view returns (Settlement memory) {
        return _settlements[settlementId];
    }

    function settlementCount() external view returns (uint256) {
        return _settlementCount;
    }

    function exchangeCount() external view returns (uint256) {
        return _exchangeCount;
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

    /// @dev The exchange's figures, the usage words it would leave, and the first refusal of the
    /// exchange's own rules (encoded as its custom error; empty if none).
    function _assess(
        address member,
        uint256 a,
        uint256 b,
        uint256 amount,
        uint64 vA,
        uint64 vB,
        uint32 flagsA,
        uint32 flagsB
    ) private view returns (Figures memory f, bytes memory problem) {
        if (a == b) return (f, abi.encodeWithSelector(ExchangeSameScheme.selector, a));
        if (amount == 0 || amount > MAX_AMOUNT) return (f, abi.encodeWithSelector(ExchangeInvalidAmount.selector, amount));
        if (flagsA & FLAG_EXCHANGE_OUT == 0) return (f, abi.encodeWithSelector(ExchangeOutDeclined.selector, a));
        if (flagsB & FLAG_EXCHANGE_IN == 0) return (f, abi.encodeWithSelector(ExchangeInDeclined.selector, b));
        f.out = (amount * vA) / vB;
        f.value = f.out * vB;
        f.used = (f.value + vA - 1) / vA;
        f.dust = f.used * vA - f.value;
        if (f.out > MAX_AMOUNT) return (f, abi.encodeWithSelector(ExchangeTooLarge.selector, f.out, MAX_AMOUNT));
        Limits memory la = _limits[a];
        if (f.out == 0 || f.value < la.minValue) {
            return (f, abi.encodeWithSelector(ExchangeBelowMinimum.selector, a, f.value, uint256(la.minValue)));
        }
        uint256 day = ServiceTime.dayOf(block.timestamp);
        uint256 month = ServiceTime.monthOf(block.timestamp);
        // member: day | value that day | month | value that month
        uint256 w = _memberUse[a][member];
        uint256 dayValue = w & MASK32 == day ? (w >> 32) & MAX96 : 0;
        uint256 monthValue = (w >> 128) & MASK32 == month ? w >> 160 : 0;
        if (la.memberDaily != 0 && dayValue + f.value > la.memberDaily) {
            return (f, abi.encodeWithSelector(ExchangeLimit.selector, a, LimitKind.MemberDaily, dayValue, f.value, uint256(la.memberDaily)));
        }
        if (la.memberMonthly != 0 && monthValue + f.value > la.memberMonthly) {
            return (
                f,
                abi.encodeWithSelector(ExchangeLimit.selector, a, LimitKind.MemberMonthly, monthValue, f.value, uint256(la.memberMonthly))
            );
        }
        f.memberWord = day | (_sat(dayValue + f.value, MAX96) << 32) | (month << 128) | (_sat(monthValue + f.value, MAX96) << 160);
        // schemes: day | value out | value in
        w = _schemeUse[a];
        uint256 used = w & MASK32 == day ? (w >> 32) & MAX112 : 0;
        if (la.schemeDailyOut != 0 && used + f.value > la.schemeDailyOut) {
            return (f, abi.encodeWithSelector(ExchangeLimit.selector, a, LimitKind.SchemeDailyOut, used, f.value, uint256(la.schemeDailyOut)));
        }
        f.outWord = w & MASK32 == day ? w : day;
        f.outWord = (f.outWord & ~(MAX112 << 32)) | (_sat(used + f.value, MAX112) << 32);
        w = _schemeUse[b];
        used = w & MASK32 == day ? w >> 144 : 0;
        uint256 inLimit = _limits[b].schemeDailyIn;
        if (inLimit != 0 && used + f.value > inLimit) {
            return (f, abi.encodeWithSelector(ExchangeLimit.selector, b, LimitKind.SchemeDailyIn, used, f.value, inLimit));
        }
        f.inWord = w & MASK32 == day ? w : day;
        f.inWord = (f.inWord & ((1 << 144) - 1)) | (_sat(used + f.value, MAX112) << 144);
    }

    /// @dev What the points ledger would refuse, in the order the burn and the mint check it.
    function _ledgerProblem(
        address member,
        uint256 a,
        uint256 b,
        Figures memory f,
        ISchemeRegistry.SpendingTerms memory tA,
        ISchemeRegistry.SpendingTerms memory tB
    ) private view returns (bytes memory) {
        if (tA.paused != 0) return abi.encodeWithSelector(IPointsLedger.PointsPaused.selector, tA.paused == a ? a : 0);
        IMemberRegistry.MemberStatus status = _members.statusOf(member);
        if (status == IMemberRegistry.MemberStatus.Frozen) return abi.encodeWithSelector(IPointsLedger.PointsMemberFrozen.selector, member);
        if (status != IMemberRegistry.MemberStatus.Active) return abi.encodeWithSelector(IPointsLedger.PointsNotAMember.selector, member);
        IPointsBalances points = IPointsBalances(address(_ledger));
        uint256 available = points.availableOf(a, member);
        if (available < f.used) {
            return abi.encodeWithSelector(IPointsLedger.PointsInsufficientBalance.selector, member, a, available, f.used);
        }
        if (tB.paused != 0) return abi.encodeWithSelector(IPointsLedger.PointsPaused.selector, tB.paused == b ? b : 0);
        uint256 limit = tB.policy.supplyLimit;
        uint256 supply = points.totalSupply(b);
        if (limit != 0 && supply + f.out > limit) {
            return abi.encodeWithSelector(IPointsLedger.PointsSupplyLimit.selector, b, supply, f.out, limit);
        }
        limit = tB.policy.maxBalance == 0 ? MAX_AMOUNT : tB.policy.maxBalance;
        uint256 balance = points.balanceOf(member, b) + f.out;
        if (balance > limit) return abi.encodeWithSelector(IPointsLedger.PointsMaxBalance.selector, member, b, balance, limit);
        return "";
    }

    /// @dev Records that `from`'s issuer owes `to`'s `value` more, netted against the reverse debt.
    function _oblige(uint256 from, uint256 to, uint256 value) private {
        if (from < to) _net[from][to] += int256(value);
        else _net[to][from] -= int256(value);
    }

    /// @dev What `payer`'s issuer owes `payee`'s after netting (0 if the debt runs the other way).
    function _owedBy(uint256 payer, uint256 payee) private view returns (uint256) {
        int256 net = payer < payee ? _net[payer][payee] : -_net[payee][payer];
        return net > 0 ? uint256(net) : 0;
    }

    function _open(uint256 settlementId) private view returns (Settlement storage s) {
        s = _settlements[settlementId];
        if (s.status == SettlementStatus.None) revert ExchangeUnknownSettlement(settlementId);
        if (s.status != SettlementStatus.Pending) revert ExchangeSettlementClosed(settlementId, s.status);
    }

    /// @dev A scheme's value change scheduled from a later block, if any (the registry keeps one).
    function _next(uint256 schemeId) private view returns (uint64 value, uint64 fromBlock) {
        ISchemeRegistry.ValueChange[] memory changes = _schemes.valueChanges(schemeId);
        uint256 n = changes.length;
        if (n != 0 && changes[n - 1].fromBlock > block.number) {
            return (changes[n - 1].unitValue, changes[n - 1].fromBlock);
        }
    }

    function _sat(uint256 value, uint256 max) private pure returns (uint256) {
        return value > max ? max : value;
    }
}
