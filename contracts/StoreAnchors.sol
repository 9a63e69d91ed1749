// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";

/// @title StoreAnchors
/// @notice Tamper evidence for the off-chain store: at an interval, the anchoring job records the
/// Merkle root of the store's rows (service-record and activity details, certificates, ...) and how
/// many rows it covers. Anyone can later recompute the root from the store and compare: a row
/// altered, inserted or deleted since an anchor no longer gives its root. Append-only: an anchor is
/// never changed or removed, so the latest one cannot be made to disappear.
contract StoreAnchors is Governed {
    bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");

    struct Anchor {
        bytes32 root;
        uint64 rows;
        uint64 timestamp;
        uint64 blockNumber;
        address anchorer;
    }

    Anchor[] private _anchors;

    event StoreAnchored(uint256 indexed anchorId, bytes32 root, uint64 rows, address indexed anchorer);

    error AnchorEmptyRoot();
    error AnchorUnknown(uint256 anchorId);

    constructor(address admin, address forwarder) Governed(admin, forwarder) {}

    /// @notice Record the root of `rows` rows of the store; returns the anchor's id (from 1).
    function anchor(bytes32 root, uint64 rows) external onlyRole(ANCHOR_ROLE) returns (uint256 anchorId) {
        if (root == bytes32(0)) revert AnchorEmptyRoot();
        _anchors.push(Anchor(root, rows, uint64(block.timestamp), uint64(block.number), _msgSender()));
        anchorId = _anchors.length;
        emit StoreAnchored(anchorId, root, rows, _msgSender());
    }

    function anchorCount() external view returns (uint256) {
        return _anchors.length;
    }

    function anchorAt(uint256 anchorId) external view returns (Anchor memory) {
        if (anchorId == 0 || anchorId > _anchors.length) revert AnchorUnknown(anchorId);
        return _anchors[anchorId - 1];
    }
}
