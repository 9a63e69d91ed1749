"""ledger.chain.compiler: the npm solc behind py-solc-x, and the build cache keyed by the inputs' hash."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import solcx
import solcx.wrapper

from ledger.chain import compiler
from ledger.chain.compiler import GENERATED_HEADER, Build, build, wrapper_path
from ledger.config import Settings
from ledger.errors import BuildError

SOLC_VERSION = "0.8.28"

REGISTRY = """// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";

contract Registry is IRegistry, AccessControl {
    uint256 private _count;

    constructor() {
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
    }

    function count() external view returns (uint256) {
        return _count;
    }
}
"""

IREGISTRY = """// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

interface IRegistry {
    function count() external view returns (uint256);
}
"""

COUNTER = """// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

contract Counter {
    uint256 public value;
}
"""


def _settings(root: Path, sources: dict[str, str]) -> Settings:
    contracts_dir = root / "contracts"
    for relative_path, content in sources.items():
        path = contracts_dir / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    config_dir = root / "config"
    config_dir.mkdir()
    (config_dir / "compiler.json").write_text(json.dumps({"solc_version": SOLC_VERSION}))
    return Settings(contracts_dir=contracts_dir, data_dir=root / "data", config_dir=config_dir)


def _refuse_to_compile(*args: Any, **kwargs: Any) -> dict[str, Any]:
    raise AssertionError("the compiler ran although the build was cached")


@pytest.fixture(scope="module")
def registry_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Build]:
    """One real compile of a contract using OpenZeppelin, shared by the tests that only read it."""
    settings = _settings(
        tmp_path_factory.mktemp("registry"),
        {"Registry.sol": REGISTRY, "interfaces/IRegistry.sol": IREGISTRY},
    )
    return settings, build(settings)


def test_contract_importing_openzeppelin_compiles_with_abi_and_bytecode(
    registry_build: tuple[Settings, Build],
) -> None:
    _, result = registry_build
    registry = result.get("Registry")
    assert registry.source_path == "Registry.sol"
    assert {"count", "grantRole", "hasRole"} <= {item.get("name") for item in registry.abi}
    assert registry.bytecode.startswith("0x60") and len(registry.bytecode) > 1000
    assert registry.deployed_bytecode.startswith("0x") and len(registry.deployed_bytecode) > 1000
    assert len(registry.artifact_hash) == 64
    assert result.compiler_version.startswith(f"{SOLC_VERSION}+commit.")
    assert not result.from_cache


def test_only_our_sources_become_artifacts_and_interfaces_have_no_code(
    registry_build: tuple[Settings, Build],
) -> None:
    _, result = registry_build
    assert set(result.artifacts) == {"Registry", "IRegistry"}
    interface = result.get("IRegistry")
    assert interface.source_path == "interfaces/IRegistry.sol"
    assert interface.bytecode == "0x" and interface.deployed_bytecode == "0x"
    assert not interface.is_deployable and result.get("Registry").is_deployable


def test_cache_file_is_marked_generated(registry_build: tuple[Settings, Build]) -> None:
    settings, result = registry_build
    cache_file = settings.build_dir / f"{result.build_hash}.json"
    raw = json.loads(cache_file.read_text(encoding="utf-8"))
    assert next(iter(raw)) == "_generated"
    assert raw["_generated"] == GENERATED_HEADER
    assert not list(settings.build_dir.glob(".*"))  # no temporary file left behind


def test_unchanged_sources_load_from_cache_without_compiling(
    registry_build: tuple[Settings, Build], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, first = registry_build
    monkeypatch.setattr(solcx, "compile_standard", _refuse_to_compile)
    again = build(settings)
    assert again.from_cache
    assert again.build_hash == first.build_hash
    assert again.compiler_version == first.compiler_version
    assert dict(again.artifacts) == dict(first.artifacts)


def test_force_compiles_even_when_cached(
    registry_build: tuple[Settings, Build], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = registry_build
    monkeypatch.setattr(solcx, "compile_standard", _refuse_to_compile)
    with pytest.raises(AssertionError, match="compiler ran"):
        build(settings, force=True)


def test_unknown_artifact_name_suggests_the_close_one(
    registry_build: tuple[Settings, Build],
) -> None:
    _, result = registry_build
    with pytest.raises(BuildError, match=r"Did you mean 'Registry'\?"):
        result.get("Registy")


def test_changed_source_changes_build_hash_and_rebuilds(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"Counter.sol": COUNTER})
    first = build(settings)
    (settings.contracts_dir / "Counter.sol").write_text(
        COUNTER.replace("uint256 public value;", "uint256 public value;\n    uint256 public total;")
    )
    second = build(settings)
    assert second.build_hash != first.build_hash
    assert not second.from_cache
    assert "total" in {item.get("name") for item in second.get("Counter").abi}
    assert (settings.build_dir / f"{second.build_hash}.json").is_file()


def test_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"Counter.sol": COUNTER})
    first = build(settings)
    (settings.build_dir / f"{first.build_hash}.json").write_text("{not json")
    again = build(settings)
    assert not again.from_cache
    assert dict(again.artifacts) == dict(first.artifacts)


def test_syntax_error_raises_build_error_naming_file_and_line(tmp_path: Path) -> None:
    broken = COUNTER.replace("uint256 public value;", "uint256 public value")
    settings = _settings(tmp_path, {"Counter.sol": COUNTER, "nested/Broken.sol": broken})
    with pytest.raises(BuildError) as caught:
        build(settings)
    assert "ParserError" in str(caught.value)
    assert "nested/Broken.sol:6:1" in str(caught.value)
    assert not list(settings.build_dir.glob("*.json"))


def test_two_contracts_with_one_name_are_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"Counter.sol": COUNTER, "other/Counter.sol": COUNTER})
    with pytest.raises(BuildError, match="two contracts are named 'Counter'"):
        build(settings)


def test_missing_npm_packages_say_to_run_npm_ci(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"Counter.sol": COUNTER})
    settings = settings.model_copy(update={"node_modules_dir": tmp_path / "empty"})
    with pytest.raises(BuildError, match="npm install"):
        build(settings)


def test_missing_node_says_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path, {"Counter.sol": COUNTER})
    monkeypatch.setattr(compiler.shutil, "which", lambda _name: None)
    with pytest.raises(BuildError, match=r"Node\.js"):
        build(settings)


def test_wrapper_answers_version_like_native_solc() -> None:
    wrapper = wrapper_path()
    out = subprocess.run([wrapper, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("solc, the solidity compiler commandline interface\nVersion: ")
    assert str(solcx.wrapper.get_solc_version(wrapper)) == SOLC_VERSION
