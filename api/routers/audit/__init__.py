"""Auditors' read-only queries, and the log of admin actions taken through the API."""
