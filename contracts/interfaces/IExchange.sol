// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IExchange
/// @notice Cross-scheme exchange (积分通兑) at the schemes' values in the city standard unit, and the
/// real-time clearing (实时清算) between issuers that every exchange creates.
/// @dev Values and limits are in thousandths of the city standard unit (SchemeRegistry's
/// VALUE_DECIMALS = 3). Converting `amount` points of scheme A (value vA) into scheme B (vB) gives
/// `out = floor(amount * vA / vB)` points of B for `used = ceil(out * vB / vA)` points of A (the
/// rest of `amount` stays with the member); `dust = used * vA - out * vB` (always < vA) is the only
/// value not carried over: A's points are burned and B creates only `out * vB`, so it stays with
/// A's issuer, who owes B's issuer exactly `out * vB`. Rounding never creates value.
interface IExchange {
    /// @notice A scheme's exchange limits, set by the council; 0 means no limit. Days and months
    /// are those of China Standard Time. An exchange counts with the value it carries over
    /// (out * toValue), the same figure the issuers then owe each other.
    /// @dev uint48 thousandths (up to about 2.8e11 standard units) keep all five in one word.
    struct Limits {
        /// Least value of one exchange out of the scheme.
        uint48 minValue;
        /// Value one member may exchange out of the scheme in a day, and in a month.
        uint48 memberDaily;
        uint48 memberMonthly;
        /// Value all members together may exchange out of, and into, the scheme in a day.
        uint48 schemeDailyOut;
        uint48 schemeDailyIn;
    }

    /// @notice The exact result of an exchange, as it would run now.
    struct Quote {
        /// Points of the source scheme given (<= the amount asked; the rest stays).
        uint256 used;
        /// Points of the target scheme received.
        uint256 out;
        /// Value carried over (out * toValue): what the source's issuer owes the target's.
        uint256 value;
        /// Value not carried over (used * fromValue - value < fromValue): stays with the source's issuer.
        uint256 dust;
        uint64 fromValue;
        uint64 toValue;
        /// A value change of either scheme scheduled from a later block (0, 0: none).
        uint64 fromNextValue;
        uint64 fromNextBlock;
        uint64 toNextValue;
        uint64 toNextBlock;
        /// Empty if the exchange would run; else the custom error it would revert with.
        bytes problem;
    }

    /// @notice Which exchange limit refused an exchange.
    enum LimitKind {
        MemberDaily,
        MemberMonthly,
        SchemeDailyOut,
        SchemeDailyIn
    }

    enum SettlementStatus {
        None,
        Pending,
        Confirmed,
        Cancelled
    }

    /// @notice A payment between issuers recorded by the payer and confirmed by the payee.
    struct Settlement {
        uint64 payerScheme;
        uint64 payeeScheme;
        uint64 recordedAt;
        SettlementStatus status;
        address proposer;
        uint256 amount;
        /// Hash of the off-chain payment reference (bank transfer number, voucher).
        bytes32 paymentRef;
    }

    /// @notice `member` gave `used` points of `fromScheme` and received `out` points of `toScheme`;
    /// `value` (thousandths of the standard unit) is now owed by fromScheme's issuer to toScheme's,
    /// netted at once; `dust` stayed with fromScheme's issuer.
    event Exchanged(
        address indexed member,
        uint256 indexed fromScheme,
        uint256 indexed toScheme,
        uint256 exchangeId,
        uint256 used,
        uint256 out,
        uint64 fromValue,
        uint64 toValue,
        uint256 value,
        uint256 dust,
        address operator
    );
    event ExchangeLimitsChanged(uint256 indexed schemeId, Limits limits);
    event SettlementRecorded(
        uint256 indexed settlementId,
        uint256 indexed payerScheme,
        uint256 indexed payeeScheme,
        uint256 amount,
        bytes32 paymentRef,
        address by
    );
    event SettlementConfirmed(
        uint256 indexed settlementId,
        uint256 indexed payerScheme,
        uint256 indexed payeeScheme,
        uint256 amount,
        address by
    );
    event SettlementCancelled(
        uint256 indexed settlementId,
        uint256 indexed payerScheme,
        uint256 indexed payeeScheme,
        uint256 amount,
        address by
    );

    error ExchangeUnauthorized(address member, address sender);
    error ExchangeSameScheme(uint256 schemeId);
    error ExchangeInvalidAmount(uint256 amount);
    error ExchangeTooLarge(uint256 out, uint256 maximum);
    error ExchangeOutDeclined(uint256 schemeId);
    error ExchangeInDeclined(uint256 schemeId);
    error ExchangeBelowMinimum(uint256 schemeId, uint256 value, uint256 minValue);
    error ExchangeLimit(uint256 schemeId, LimitKind limitKind, uint256 used, uint256 requested, uint256 limit);
    error ExchangeStaleQuote(
        uint256 fromScheme, uint256 toScheme, uint64 quotedFromValue, uint64 quotedToValue, uint64 fromValue, uint64 toValue
    );
    error ExchangeNotIssuer(uint256 schemeId, address account);
    error ExchangeInvalidSettlement(uint256 payerScheme, uint256 payeeScheme, uint256 amount);
    error ExchangeSettlementExceedsOwed(uint256 payerScheme, uint256 payeeScheme, uint256 amount, uint256 owed);
    error ExchangeUnknownSettlement(uint256 settlementId);
    error ExchangeSettlementClosed(uint256 settlementId, SettlementStatus status);
    error ExchangeNotProposer(uint256 settlementId, address account, address proposer);

    /// @notice What converting `amount` points of `fromScheme` into `toScheme` for `member` would
    /// give now, and the first reason it would be refused (`problem`, empty if none).
    function quote(address member, uint256 fromScheme, uint256 toScheme, uint256 amount)
        external
        view
        returns (Quote memory);

    /// @notice Converts points for `member` (by the member or their recorded proxy) at the quoted
    /// values; reverts ExchangeStaleQuote if either value in force differs. Returns the exchange id.
    function exchange(
        address member,
        uint256 fromScheme,
        uint256 toScheme,
        uint256 amount,
        uint64 quotedFromValue,
        uint64 quotedToValue
    ) external returns (uint256 exchangeId);

    /// @notice Sets a scheme's exchange limits (a council action).
    function setLimits(uint256 schemeId, Limits calldata limits) external;

    /// @notice The payer scheme's issuer records a payment to the payee scheme's issuer, at most
    /// what is owed and not yet pending; it counts once the payee's issuer confirms it.
    function recordSettlement(uint256 payerScheme, uint256 payeeScheme, uint256 amount, bytes32 paymentRef)
        external
        returns (uint256 settlementId);

    /// @notice The payee scheme's issuer confirms a pending settlement: the obligation drops.
    function confirmSettlement(uint256 settlementId) external;

    /// @notice The proposer withdraws a pending settlement.
    function cancelSettlement(uint256 settlementId) external;

    function limitsOf(uint256 schemeId) external view returns (Limits memory);
    /// @notice Net value `payerScheme`'s issuer owes `payeeScheme`'s (at most one direction of a
    /// pair is non-zero), and how much of it pending settlements cover.
    function owed(uint256 payerScheme, uint256 payeeScheme) external view returns (uint256 amount, uint256 pending);
    /// @notice A scheme's net clearing position: owed to its issuer minus owed by it (sums to zero).
    function positionOf(uint256 schemeId) external view returns (int256);
    /// @notice Value `member` exchanged out of `schemeId` today and this month.
    function memberUsage(uint256 schemeId, address member) external view returns (uint256 today, uint256 month);
    /// @notice Value exchanged out of and into `schemeId` today.
    function schemeUsage(uint256 schemeId) external view returns (uint256 outToday, uint256 inToday);
    function settlement(uint256 settlementId) external view returns (Settlement memory);
    function settlementCount() external view returns (uint256);
    function exchangeCount() external view returns (uint256);
}
