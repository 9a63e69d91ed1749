"""Certificates of service (志愿服务证明): what a member did in a period, as the chain proves it.

A certificate lists every approved, not superseded service record of one member whose service
started in the period (single records and batch records, a record belonging to the day it started,
as the caps count it), each confirmed against the chain, with what the 2021 rules on volunteer
service records require a certificate to state: date, service time, content, activity, place and
the recording unit (organising unit and person in charge); plus points, scheme, the on-chain
reference and the record's full details, whose hash is on chain. Totals give hours and points per
scheme.

The certificate is canonical JSON (``ledger.store.records.canonical_json``): its digest is the
keccak256 of the document without its code and signature, the verification code is taken from
the digest, and the issuing key signs the digest (EIP-191). The same JSON is embedded in a
printable HTML page, so the page itself can be verified. ``verify.verify_certificate`` takes a code (the
store keeps every certificate issued), a JSON file or an HTML page and checks the code, the
signer's authority and every line against the chain as it is now; a bad certificate is reported,
never raised.

Who certifies: a registrar or an auditor (any scheme), or a scheme's issuer (its own scheme's
records only, as only the community that reviewed a record may see its details).

Its modules: ``document`` (the format, digest, code and signature), ``page`` (the printable
page), ``chain`` (what the chain holds behind a line), ``issue`` and ``issued`` (issuing, and the
certificates the store keeps), ``load``, ``compare`` and ``verify`` (verifying); ``parts`` names
what they use of the ledger.
"""
