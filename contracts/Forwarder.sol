// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";

/// @title Forwarder
/// @notice Relays EIP-712 signed requests (with nonce and deadline) so that members and staff act
/// without holding a native coin: an operator pays for the transaction, the contracts see the signer.
contract Forwarder is ERC2771Forwarder {
    constructor() ERC2771Forwarder("VolunteerPointsLedger") {}
}
