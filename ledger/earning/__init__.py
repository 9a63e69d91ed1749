"""Earning points: activities and tasks, service records and their four-eyes review, batch
issuance from CSV files (run in the background as uploads), and certificates of service."""
