"""Earning points: activities, service records (the volunteer's view and the review), batch
uploads, certificates."""
