"""The docs show only commands, endpoints and files that exist.

Every ``vpl ...`` the README and docs/ show (in inline code and in code blocks, with the ``|``
alternatives of the CLI pages) is walked down the CLI's command tree: each group and command it
names must exist, and each ``--option`` it shows must be one the command takes. Every ``GET /...``,
``POST /...`` (and the other methods) must be a route of the API with that method; a path shown
without ``/v1`` is relative to the section it is in, so it must be the end of a route's path.
Every file or folder of the repository a page names in backticks (``ledger/chain/tx/``,
``scripts/dev.sh``) is there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from api.app import create_app
from scripts.cli import app as cli_app
from tests.chain_helpers import make_settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_INLINE = re.compile(r"`(vpl [^`]+)`")
_ENDPOINT = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/(?:\{[^}\s]*\}|[^\s`|),;])*)")
_PLACEHOLDER = re.compile(r"[^a-z-]")
#: Folders a run makes (deployment manifests), named by the pages before they exist.
MADE_AT_RUN_TIME = ("hardhat-free-config/deployments",)
_REPO_PATH = re.compile(
    r"`((?:ledger|api|scripts|tests|contracts|hardhat-free-config|docs)/[A-Za-z0-9_./-]*)`"
)


@dataclass(frozen=True)
class Shown:
    """A command or an endpoint as a page shows it, and where."""

    text: str
    where: str


def _code_lines(text: str) -> list[tuple[int, str]]:
    """The lines inside fenced code blocks, a line ending in ``\\`` joined to the next."""
    out: list[tuple[int, str]] = []
    fenced, pending, start = False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            continue
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append((start, pending + line))
        pending = ""
    return out


def shown_commands() -> list[Shown]:
    """Every ``vpl`` command line shown, each ``|`` alternative that names a command on its own."""
    found: list[Shown] = []
    for page in DOCS:
        text = page.read_text(encoding="utf-8")
        name = page.relative_to(ROOT)
        for number, line in enumerate(text.splitlines(), 1):
            found += [Shown(m, f"{name}:{number}") for m in _INLINE.findall(line)]
        for number, line in _code_lines(text):
            for command in line.split("  #")[0].split(";"):
                command = command.strip().removeprefix("$ ")
                if command.startswith("vpl "):
                    found.append(Shown(command, f"{name}:{number}"))
    return found


def _options(command: Any) -> set[str]:
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


def check_command(root: Any, shown: str) -> list[str]:
    """What in `shown` the CLI does not have (nothing: it is all there). Commands are Click's
    (as Typer builds them): a group has ``commands``, every command ``params``.

    `` | `` separates alternatives: one naming a command of ``vpl`` stands on its own, any
    other continues the group the first one's command is in (``vpl council propose threshold N |
    quota SCHEME Q``, ``vpl timebank confirm 7 | cancel 7``)."""
    first, *others = shown.split(" | ")
    problems, groups = _walk(root, first.split()[1:])
    for other in others:
        words = other.split()
        if not words or _PLACEHOLDER.search(words[0]) or words[0] in root.commands:
            problems += _walk(root, words)[0]
        else:
            problems += _walk(root, groups[-1] + words)[0]
    return problems


def _walk(root: Any, words: list[str]) -> tuple[list[str], list[list[str]]]:
    """Problems of `words` below ``vpl``, and the paths of the groups passed (``[]`` is vpl)."""
    current, path, groups = root, [], [[]]
    takes_value = {o for p in root.params if not getattr(p, "is_flag", True) for o in p.opts}
    words = " ".join(words).replace("[", " ").replace("]", " ").split()
    problems = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("--"):
            option = word.split("=")[0]
            if option not in _options(root) | _options(current):
                problems.append(f"{' '.join(['vpl', *path])} has no option {option}")
            skip = option in takes_value and "=" not in word
            continue
        if "..." in word:
            break
        if not hasattr(current, "commands"):
            continue
        names = word.split("|")
        if any(_PLACEHOLDER.search(n) for n in names):
            continue
        missing = [n for n in names if n not in current.commands]
        if missing:
            problems.append(f"{' '.join(['vpl', *path])} has no command {'|'.join(missing)}")
            break
        if hasattr(current, "commands"):
            groups.append(list(path))
        path.append(names[0])
        current = current.commands[names[0]]
    return problems, groups


def shown_endpoints() -> list[Shown]:
    found = []
    for page in DOCS:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for method, path in _ENDPOINT.findall(line):
                found.append(Shown(f"{method} {path}", f"{page.relative_to(ROOT)}:{number}"))
    return found


def _variants(path: str) -> list[str]:
    """The path without its query, each optional ``[...]`` part with and without it, each of
    the ``{a,b}`` alternatives, and every ``{parameter}`` as ``{}``."""
    optional = re.search(r"\[([^\]]*)\]", path)
    if optional:
        head, tail = path[: optional.start()], path[optional.end() :]
        return _variants(head + tail) + _variants(head + optional.group(1) + tail)
    choice = re.search(r"\{([^}]*,[^}]*)\}", path)
    if choice:
        head, tail = path[: choice.start()], path[choice.end() :]
        return [v for c in choice.group(1).split(",") for v in _variants(head + c + tail)]
    path = path.split("?")[0].rstrip(".:")
    return [re.sub(r"\{[^}]*\}", "{}", path).rstrip("/") or "/"]


@pytest.fixture(scope="module")
def cli_tree() -> Any:
    return typer.main.get_command(cli_app)


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    """(method, path with ``{}`` for every parameter) of every route of the API."""
    app = create_app(make_settings(tmp_path_factory.mktemp("docs"), "anvil"))
    return {
        (method.upper(), re.sub(r"\{[^}]*\}", "{}", path))
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


def test_the_docs_show_commands_and_endpoints() -> None:
    """The checks below have something to check: the pages do show both."""
    assert len(shown_commands()) > 50
    assert len(shown_endpoints()) > 50


def test_every_command_the_docs_show_exists(cli_tree: Any) -> None:
    problems = [
        f"{s.where}: `{s.text}`: {p}"
        for s in shown_commands()
        for p in check_command(cli_tree, s.text)
    ]
    assert not problems, "\n".join(problems)


def test_every_endpoint_the_docs_show_exists(routes: set[tuple[str, str]]) -> None:
    problems = []
    for s in shown_endpoints():
        method, path = s.text.split(" ", 1)
        for variant in _variants(path):
            exact = variant.startswith("/v1") or variant.startswith("/explorer")
            if not any(
                m == method and (p == variant if exact else p.endswith(variant)) for m, p in routes
            ):
                problems.append(f"{s.where}: {method} {variant} is not a route of the API")
    assert not problems, "\n".join(problems)


def test_the_command_check_finds_what_is_missing(cli_tree: Any) -> None:
    """The check itself: a command, a subcommand or an option the CLI lacks is found."""
    assert check_command(cli_tree, "vpl audit trace record:1 --export f.csv") == []
    assert check_command(cli_tree, "vpl audit nosuch") == ["vpl audit has no command nosuch"]
    assert check_command(cli_tree, "vpl nosuch x") == ["vpl has no command nosuch"]
    assert check_command(cli_tree, "vpl audit trace X --nosuch") == [
        "vpl audit trace has no option --nosuch"
    ]
    assert check_command(cli_tree, "vpl council propose threshold 2 | quota VOL 5 | nosuch 3") == [
        "vpl council propose has no command nosuch"
    ]
    assert check_command(cli_tree, "vpl --as issuer-vol audit nosuch") == [
        "vpl audit has no command nosuch"
    ]


def test_the_endpoint_check_reads_optional_parts_and_alternatives() -> None:
    assert set(_variants("/members/{address}/x/{a,b}[/html][?q=1]")) == {
        "/members/{}/x/a",
        "/members/{}/x/b",
        "/members/{}/x/a/html",
        "/members/{}/x/b/html",
    }


def test_every_file_the_docs_name_exists() -> None:
    missing = [
        f"{page.relative_to(ROOT)}:{number}: {path}"
        for page in DOCS
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        for path in _REPO_PATH.findall(line)
        if "*" not in path and not path.startswith(MADE_AT_RUN_TIME) and not (ROOT / path).exists()
    ]
    assert not missing, "\n".join(missing)
