// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/// @title Erc1155Floor (benchmarks only; never deployed by `vpl deploy`)
/// @notice A plain OpenZeppelin ERC-1155 with open minting: its transfer to an existing holder is
/// the floor that scripts/bench_spending.py sets a spending operation's gas against.
contract Erc1155Floor is ERC1155 {
    constructor() ERC1155("") {}

    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }
}
