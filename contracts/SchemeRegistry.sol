// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";

/// @title SchemeRegistry
/// @notice The point schemes of the city and who works for each: admitted, revalued and re-quota'd
/// only by the council; staffed by each scheme's issuer.
contract SchemeRegistry is ISchemeRegistry, Governed {
    bytes32 public constant REVIEWER_ROLE = keccak256("REVIEWER_ROLE");
    bytes32 public constant MERCHANT_ROLE = keccak256("MERCHANT_ROLE");
    bytes32 public constant ORGANISER_ROLE = keccak256("ORGANISER_ROLE");
    /// @notice May pause (not resume) at once in an emergency; resuming is a council action.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice The id `pause` takes to stop every scheme.
    uint256 public constant PAUSED_ALL = 0;
    uint16 public constant MAX_EXPIRY_MONTHS = 1200;

    uint32 public constant FLAG_EXCHANGE_OUT = 1;
    uint32 public constant FLAG_EXCHANGE_IN = 2;
    uint32 public constant FLAG_GIFTS = 4;
    uint32 public constant FLAG_REDEMPTION = 8;
    uint32 public constant FLAG_TIME_BANK = 16;
    uint32 public constant FLAGS_ALL = 31;

    uint8 public constant VALUE_DECIMALS = 3;
    uint256 public constant MAX_SCHEMES = 1024;
    uint256 public constant MAX_CODE_LENGTH = 16;
    uint256 public constant MAX_TEXT_LENGTH = 96;

    mapping(uint256 schemeId => Scheme) private _schemes;
    mapping(bytes32 code => uint256 schemeId) private _ids;
    mapping(uint256 schemeId => mapping(bytes32 role => mapping(address account => bool))) private _roles;
    uint256 private _count;
    mapping(uint256 schemeId => ValueChange[]) private _values;
    mapping(uint256 schemeId => Policy) private _policies;
    /// Key 0: every scheme.
    mapping(uint256 schemeId => bool) private _paused;

    modifier known(uint256 schemeId) {
        if (schemeId == 0 || schemeId > _count) revert SchemeUnknown(schemeId);
        _;
    }

    constructor(address admin, address forwarder) Governed(admin, forwarder) {}

    /// @inheritdoc ISchemeRegistry
    /// @dev Scheme ids count from 1 and are the ERC-1155 token ids of the points ledger.
    function addScheme(
        bytes32 code,
        string calldata name,
        string calldata unit,
        address issuer,
        uint64 unitValue,
        uint256 quota,
        uint64 quotaPeriod,
        uint32 flags
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 schemeId) {
        _checkCode(code);
        if (_ids[code] != 0) revert SchemeCodeInUse(code, _ids[code]);
        if (_count >= MAX_SCHEMES) revert SchemeTooMany(MAX_SCHEMES);
        _checkText(name);
        _checkText(unit);
        if (issuer == address(0)) revert SchemeInvalidIssuer(issuer);
        _checkValue(unitValue);
        _checkQuota(quota, quotaPeriod);
        _checkFlags(flags);

        schemeId = ++_count;
        _ids[code] = schemeId;
        _schemes[schemeId] = Scheme({
            code: code,
            issuer: issuer,
            unitValue: unitValue,
            quotaPeriod: quotaPeriod,
            flags: flags,
            createdAt: uint64(block.timestamp),
            quota: quota,
            name: name,
            unit: unit
        });
        _values[schemeId].push(ValueChange(uint64(block.number), unitValue));
        emit SchemeAdded(schemeId, code, issuer, name, unit, unitValue, quota, quotaPeriod, flags);
    }

    /// @notice Hands a scheme to another issuer (a council action).
    function setIssuer(uint256 schemeId, address issuer) external onlyRole(DEFAULT_ADMIN_ROLE) known(schemeId) {
        if (issuer == address(0)) revert SchemeInvalidIssuer(issuer);
        emit SchemeIssuerChanged(schemeId, _schemes[schemeId].issuer, issuer);
        _schemes[schemeId].issuer = issuer;
    }

    /// @notice Changes a scheme's issuance quota and period (a council action); applies to the current period.
    function setQuota(uint256 schemeId, uint256 quota, uint64 quotaPeriod)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        known(schemeId)
    {
        _checkQuota(quota, quotaPeriod);
        _schemes[schemeId].quota = quota;
        _schemes[schemeId].quotaPeriod = quotaPeriod;
        emit SchemeQuotaChanged(schemeId, quota, quotaPeriod);
    }

    /// @inheritdoc ISchemeRegistry
    /// @dev Never retroactive: exchanges quoted and made before `fromBlock` keep the old value.
    function setUnitValue(uint256 schemeId, uint64 unitValue, uint64 fromBlock)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        known(schemeId)
    {
        _checkValue(unitValue);
        if (fromBlock <= block.number) revert SchemeValueNotAhead(fromBlock, block.number);
        ValueChange[] storage values = _values[schemeId];
        if (values[values.length - 1].fromBlock > block.number) values.pop();
        uint64 previous = unitValueAt(schemeId, block.number);
        values.push(ValueChange(fromBlock, unitValue));
        emit SchemeValueChanged(schemeId, previous, unitValue, fromBlock);
    }

    /// @notice Changes what members may do with a scheme's points (a council action).
    function setFlags(uint256 schemeId, uint32 flags) external onlyRole(DEFAULT_ADMIN_ROLE) known(schemeId) {
        _checkFlags(flags);
        emit SchemeFlagsChanged(schemeId, _schemes[schemeId].flags, flags);
        _schemes[schemeId].flags = flags;
    }

    /// @inheritdoc ISchemeRegistry
    function grantSchemeRole(uint256 schemeId, bytes32 role, address account) external known(schemeId) {
        _checkStaffChange(schemeId, role, account);
        if (!_roles[schemeId][role][account]) {
            _roles[schemeId][role][account] = true;
            emit SchemeRoleGranted(schemeId, role, account, _msgSender());
        }
    }

    /// @inheritdoc ISchemeRegistry
    function revokeSchemeRole(uint256 schemeId, bytes32 role, address account) external known(schemeId) {
        _checkStaffChange(schemeId, role, account);
        if (_roles[schemeId][role][account]) {
            _roles[schemeId][role][account] = false;
            emit SchemeRoleRevoked(schemeId, role, account, _msgSender());
        }
    }

    /// @inheritdoc ISchemeRegistry
    /// @dev A new expiry applies to points created from now; a lower maximum refuses new credits only.
    function setPolicy(uint256 schemeId, Policy calldata policy) external onlyRole(DEFAULT_ADMIN_ROLE) known(schemeId) {
        if (policy.expiryMonths > MAX_EXPIRY_MONTHS) revert SchemeInvalidPolicy();
        _policies[schemeId] = policy;
        emit PolicyChanged(schemeId, policy.maxBalance, policy.expiryMonths, policy.supplyLimit);
    }

    /// @inheritdoc ISchemeRegistry
    function pause(uint256 schemeId) external {
        address sender = _msgSender();
        if (!hasRole(PAUSER_ROLE, sender) && !hasRole(DEFAULT_ADMIN_ROLE, sender)) {
            revert AccessControlUnauthorizedAccount(sender, PAUSER_ROLE);
        }
        if (schemeId != PAUSED_ALL && (schemeId > _count)) revert SchemeUnknown(schemeId);
        if (_paused[schemeId]) revert SchemeAlreadyPaused(schemeId);
        _paused[schemeId] = true;
        emit Paused(schemeId, sender);
    }

    /// @inheritdoc ISchemeRegistry
    function unpause(uint256 schemeId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_paused[schemeId]) revert SchemeNotPaused(schemeId);
        _paused[schemeId] = false;
        emit Unpaused(schemeId, _msgSender());
    }

    // --- views ---------------------------------------------------------------------------------

    /// @notice A scheme, with the value in force now.
    function scheme(uint256 schemeId) external view known(schemeId) returns (Scheme memory s) {
        s = _schemes[schemeId];
        s.unitValue = unitValueAt(schemeId, block.number);
    }

    /// @inheritdoc ISchemeRegistry
    function unitValueAt(uint256 schemeId, uint256 blockNumber) public view known(schemeId) returns (uint64) {
        ValueChange[] storage values = _values[schemeId];
        for (uint256 i = values.length; i > 0; --i) {
            if (values[i - 1].fromBlock <= blockNumber) return values[i - 1].unitValue;
        }
        return 0;
    }

    function valueChanges(uint256 schemeId) external view known(schemeId) returns (ValueChange[] memory) {
        return _values[schemeId];
    }

    /// @inheritdoc ISchemeRegistry
    function ledgerTerms(uint256 schemeId) external view known(schemeId) returns (LedgerTerms memory t) {
        Scheme storage s = _schemes[schemeId];
        t.quota = s.quota;
        t.quotaPeriod = s.quotaPeriod;
        t.flags = s.flags;
        if (_paused[PAUSED_ALL]) t.paused = type(uint256).max;
        else if (_paused[schemeId]) t.paused = schemeId;
        t.policy = _policies[schemeId];
    }

    function policyOf(uint256 schemeId) external view known(schemeId) returns (Policy memory) {
        return _policies[schemeId];
    }

    /// @notice Whether a scheme's points are stopped (by its own pause or every scheme's);
    /// `isPaused(0)`: whether every scheme is.
    function isPaused(uint256 schemeId) external view returns (bool) {
        return _paused[PAUSED_ALL] || _paused[schemeId];
    }

    /// @notice The id of a scheme code; reverts for an unknown code.
    function schemeIdOf(bytes32 code) external view returns (uint256 schemeId) {
        schemeId = _ids[code];
        if (schemeId == 0) revert SchemeUnknownCode(code);
    }

    function schemeCount() external view returns (uint256) {
        return _count;
    }

    function exists(uint256 schemeId) external view returns (bool) {
        return schemeId != 0 && schemeId <= _count;
    }

    function issuerOf(uint256 schemeId) external view known(schemeId) returns (address) {
        return _schemes[schemeId].issuer;
    }

    function hasSchemeRole(uint256 schemeId, bytes32 role, address account) external view returns (bool) {
        return _roles[schemeId][role][account];
    }

    // --- checks --------------------------------------------------------------------------------

    function _checkStaffChange(uint256 schemeId, bytes32 role, address account) private view {
        address sender = _msgSender();
        if (sender != _schemes[schemeId].issuer && !hasRole(DEFAULT_ADMIN_ROLE, sender)) {
            revert SchemeUnauthorizedIssuer(schemeId, sender);
        }
        if (role != REVIEWER_ROLE && role != MERCHANT_ROLE && role != ORGANISER_ROLE) revert SchemeInvalidRole(role);
        if (account == address(0)) revert SchemeInvalidAccount(account);
    }

    /// @dev A code is 1-16 characters of A-Z, 0-9, '-' or '_', starting with a letter (so it is never
    /// mistaken for a scheme id), left-aligned and zero-padded.
    function _checkCode(bytes32 code) private pure {
        uint256 length = 0;
        while (length < 32 && code[length] != 0) ++length;
        if (length == 0 || length > MAX_CODE_LENGTH || code[0] < "A" || code[0] > "Z") revert SchemeInvalidCode(code);
        for (uint256 i = 0; i < 32; ++i) {
            bytes1 c = code[i];
            bool ok = i < length
                ? ((c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_")
                : c == 0;
            if (!ok) revert SchemeInvalidCode(code);
        }
    }

    function _checkText(string calldata text) private pure {
        uint256 length = bytes(text).length;
        if (length == 0 || length > MAX_TEXT_LENGTH) revert SchemeInvalidName();
    }

    function _checkValue(uint64 unitValue) private pure {
        if (unitValue == 0) revert SchemeInvalidValue(unitValue);
    }

    function _checkQuota(uint256 quota, uint64 quotaPeriod) private pure {
        if (quota == 0 || quota > type(uint128).max || quotaPeriod < 1 hours) {
            revert SchemeInvalidQuota(quota, quotaPeriod);
        }
    }

    function _checkFlags(uint32 flags) private pure {
        if (flags & ~FLAGS_ALL != 0) revert SchemeInvalidFlags(flags);
    }
}
