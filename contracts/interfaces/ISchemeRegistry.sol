// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ISchemeRegistry
/// @notice Point schemes (积分体系): each one issuer's kind of points, its value in the city standard
/// unit, its issuance quota and what members may do with its points; and per-scheme staff roles.
interface ISchemeRegistry {
    struct Scheme {
        bytes32 code;
        address issuer;
        /// Value of one point in the city standard unit, in thousandths (VALUE_DECIMALS = 3).
        uint64 unitValue;
        /// Length of a quota period in seconds; periods are aligned to the Unix epoch.
        uint64 quotaPeriod;
        uint32 flags;
        uint64 createdAt;
        /// Most points the scheme may issue in one period.
        uint256 quota;
        string name;
        string unit;
    }

    /// @notice A scheme's compliance settings, in the manner of ERC-3643 compliance modules,
    /// enforced by the points ledger; 0 means no limit (for expiry: points never expire).
    /// @dev `expiryMonths`: points created in calendar month M (China Standard Time) can be spent up
    /// to the end of month M + expiryMonths and expire when the month after begins.
    struct Policy {
        uint88 maxBalance;
        uint16 expiryMonths;
        uint128 supplyLimit;
    }

    /// @notice A scheme's value in the city standard unit from a block on.
    struct ValueChange {
        uint64 fromBlock;
        uint64 unitValue;
    }

    /// @notice What the points ledger needs of a scheme on every write, in one call.
    struct LedgerTerms {
        uint256 quota;
        uint64 quotaPeriod;
        uint32 flags;
        /// 0: not paused; the scheme's id: it is paused; type(uint256).max: every scheme is.
        uint256 paused;
        Policy policy;
    }

    /// @notice What a spending operation (exchange, redemption, time bank, gifts) needs of a scheme,
    /// in one call of at most three storage reads.
    struct SpendingTerms {
        /// The value in force at this block, as `unitValueAt(schemeId, block.number)`.
        uint64 unitValue;
        uint32 flags;
        /// As `LedgerTerms.paused`: 0, the scheme's id, or type(uint256).max.
        uint256 paused;
        Policy policy;
    }

    /// @notice What a spending operation but the exchange needs of a scheme: one storage read.
    struct PolicyTerms {
        uint32 flags;
        /// As `LedgerTerms.paused`: 0, the scheme's id, or type(uint256).max.
        uint256 paused;
        Policy policy;
    }

    event SchemeAdded(
        uint256 indexed schemeId,
        bytes32 indexed code,
        address indexed issuer,
        string name,
        string unit,
        uint64 unitValue,
        uint256 quota,
        uint64 quotaPeriod,
        uint32 flags
    );
    event SchemeIssuerChanged(uint256 indexed schemeId, address indexed previousIssuer, address indexed issuer);
    event SchemeQuotaChanged(uint256 indexed schemeId, uint256 quota, uint64 quotaPeriod);
    /// @notice The scheme's value becomes `unitValue` from block `fromBlock` (never earlier than the
    /// block after the change); `previousValue` is the value in force when it was set.
    event SchemeValueChanged(uint256 indexed schemeId, uint64 previousValue, uint64 unitValue, uint64 fromBlock);
    event SchemeFlagsChanged(uint256 indexed schemeId, uint32 previousFlags, uint32 flags);
    event SchemeRoleGranted(uint256 indexed schemeId, bytes32 indexed role, address indexed account, address sender);
    event SchemeRoleRevoked(uint256 indexed schemeId, bytes32 indexed role, address indexed account, address sender);

    event PolicyChanged(uint256 indexed schemeId, uint256 maxBalance, uint256 expiryMonths, uint256 supplyLimit);
    /// @notice Point movements of a scheme stopped (`schemeId` 0: of every scheme) or resumed.
    event Paused(uint256 indexed schemeId, address by);
    event Unpaused(uint256 indexed schemeId, address by);

    error SchemeUnknown(uint256 schemeId);
    error SchemeInvalidPolicy();
    error SchemeAlreadyPaused(uint256 schemeId);
    error SchemeNotPaused(uint256 schemeId);
    error SchemeUnknownCode(bytes32 code);
    error SchemeCodeInUse(bytes32 code, uint256 schemeId);
    error SchemeInvalidCode(bytes32 code);
    error SchemeInvalidName();
    error SchemeInvalidIssuer(address issuer);
    error SchemeInvalidValue(uint64 unitValue);
    error SchemeValueNotAhead(uint64 fromBlock, uint256 blockNumber);
    error SchemeInvalidQuota(uint256 quota, uint64 quotaPeriod);
    error SchemeInvalidFlags(uint32 flags);
    error SchemeInvalidRole(bytes32 role);
    error SchemeInvalidAccount(address account);
    error SchemeUnauthorizedIssuer(uint256 schemeId, address account);
    error SchemeTooMany(uint256 maxSchemes);

    /// @notice Admits a scheme and its issuer (a council action).
    function addScheme(
        bytes32 code,
        string calldata name,
        string calldata unit,
        address issuer,
        uint64 unitValue,
        uint256 quota,
        uint64 quotaPeriod,
        uint32 flags
    ) external returns (uint256 schemeId);

    function setIssuer(uint256 schemeId, address issuer) external;
    function setQuota(uint256 schemeId, uint256 quota, uint64 quotaPeriod) external;
    /// @notice Sets a scheme's value from a later block (a council action); a change not yet in
    /// force is replaced.
    function setUnitValue(uint256 schemeId, uint64 unitValue, uint64 fromBlock) external;
    /// @notice The scheme's value in force at `blockNumber` (0 before the scheme existed).
    function unitValueAt(uint256 schemeId, uint256 blockNumber) external view returns (uint64);
    function valueChanges(uint256 schemeId) external view returns (ValueChange[] memory);
    function setFlags(uint256 schemeId, uint32 flags) external;

    /// @notice The scheme's issuer (or the council) names its staff: reviewers, merchants, organisers.
    function grantSchemeRole(uint256 schemeId, bytes32 role, address account) external;
    function revokeSchemeRole(uint256 schemeId, bytes32 role, address account) external;

    /// @notice Sets a scheme's compliance settings (a council action), from now on.
    function setPolicy(uint256 schemeId, Policy calldata policy) external;
    /// @notice Stops point movements of a scheme, or with 0 of every scheme; by the council or a pauser.
    function pause(uint256 schemeId) external;
    /// @notice Resumes them (a council action).
    function unpause(uint256 schemeId) external;

    function scheme(uint256 schemeId) external view returns (Scheme memory);
    function ledgerTerms(uint256 schemeId) external view returns (LedgerTerms memory);
    /// @notice The value in force, flags, pause and policy of a scheme: what spending reads.
    function spendingTerms(uint256 schemeId) external view returns (SpendingTerms memory);
    /// @notice The flags, pause and policy of a scheme: `spendingTerms` without the value.
    function policyTerms(uint256 schemeId) external view returns (PolicyTerms memory);
    function policyOf(uint256 schemeId) external view returns (Policy memory);
    function isPaused(uint256 schemeId) external view returns (bool);
    function schemeIdOf(bytes32 code) external view returns (uint256);
    function schemeCount() external view returns (uint256);
    function exists(uint256 schemeId) external view returns (bool);
    function issuerOf(uint256 schemeId) external view returns (address);
    function hasSchemeRole(uint256 schemeId, bytes32 role, address account) external view returns (bool);
}
