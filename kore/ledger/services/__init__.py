"""Ledger writes. Every function runs in one database transaction and bumps the ledger version."""
