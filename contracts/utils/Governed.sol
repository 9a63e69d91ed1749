// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";

/// @title Governed
/// @notice Base of the ledger's contracts: OpenZeppelin access control whose admin is the council,
/// and ERC-2771 meta-transactions so members and staff never need a native coin.
/// @dev The deployer is the first admin only to wire the contracts together; deployment then grants
/// DEFAULT_ADMIN_ROLE to the council and renounces its own.
abstract contract Governed is AccessControl, ERC2771Context {
    constructor(address admin, address forwarder) ERC2771Context(forwarder) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function _msgSender() internal view virtual override(Context, ERC2771Context) returns (address) {
        return ERC2771Context._msgSender();
    }

    function _msgData() internal view virtual override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    function _contextSuffixLength() internal view virtual override(Context, ERC2771Context) returns (uint256) {
        return ERC2771Context._contextSuffixLength();
    }
}
