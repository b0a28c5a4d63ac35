"""Audit trail of the ledger: see ``kore.core.audit`` (re-exported here).

The history columns, the stamp and its signal receiver live in ``kore.core.audit`` so that the
organisations app (memberships, API tokens) and the middleware share them without depending on
the ledger; the receiver is registered once, there.
"""

from kore.core.audit import AuditFields, audit_attrs, current_api_token_id

__all__ = ["AuditFields", "audit_attrs", "current_api_token_id"]
