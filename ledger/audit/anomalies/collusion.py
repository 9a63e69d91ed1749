"""The anomaly rule ``collusion``: reviewers and volunteers approving each other, A approved a
record of B and B one of A (a pair), or a ring A->B->C->A of up to ``ring_max_length`` accounts;
and one reviewer approving ``pair_max_approvals`` or more records of one volunteer."""

from __future__ import annotations

from collections import defaultdict

from ledger.audit.anomalies.findings import Finding, one_scheme
from ledger.audit.anomalies.records import ChainRecord
from ledger.config import AnomalyThresholds


def collusion(records: list[ChainRecord], t: AnomalyThresholds) -> list[Finding]:
    edges: dict[tuple[str, str], list[ChainRecord]] = defaultdict(list)
    for r in records:
        if r.approved is None:
            continue
        for reviewer in dict.fromkeys(r.approvers):
            if reviewer != r.volunteer:
                edges[(reviewer, r.volunteer)].append(r)
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    findings = []
    for ring in _cycles(graph, t.ring_max_length):
        pairs = list(zip(ring, ring[1:] + ring[:1], strict=True))
        rs = [r for p in pairs for r in edges[p]]
        shown = " -> ".join([*ring, ring[0]])
        kind = "approve each other" if len(ring) == 2 else "approve each other in a ring"
        findings.append(
            Finding(
                rule="collusion",
                message=f"{len(ring)} accounts {kind}: {shown} (reviewer -> volunteer)",
                scheme_id=one_scheme(r.scheme_id for r in rs),
                accounts=tuple(ring),
                records=tuple(r.ref for r in rs),
                evidence=tuple(
                    r.approved.evidence(f"{r.ref} of {r.volunteer} approved by {r.reviewer}")  # type: ignore[union-attr]
                    for r in rs
                ),
            )
        )
    for (reviewer, volunteer), rs in edges.items():
        if len(rs) >= t.pair_max_approvals:
            findings.append(
                Finding(
                    rule="collusion",
                    message=(
                        f"{reviewer} approved {len(rs)} records of {volunteer} "
                        f"({t.pair_max_approvals} or more)"
                    ),
                    scheme_id=one_scheme(r.scheme_id for r in rs),
                    accounts=(reviewer, volunteer),
                    records=tuple(r.ref for r in rs),
                    evidence=tuple(r.approved.evidence(f"{r.ref} approved") for r in rs),  # type: ignore[union-attr]
                )
            )
    return findings


def _cycles(graph: dict[str, set[str]], longest: int) -> list[list[str]]:
    """Simple cycles of up to `longest` nodes, each once (starting at its smallest node)."""
    found: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start and len(path) >= 2:
                found.append(list(path))
            elif nxt > start and nxt not in path and len(path) < longest:
                walk(start, nxt, [*path, nxt])

    for start in sorted(graph):
        walk(start, start, [start])
    return found
