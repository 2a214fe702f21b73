"""The hub's own database: the identity map now, CRM entities later."""

from .db import Database
from .models import Base, CustomerLink, HubCustomer

__all__ = ["Base", "CustomerLink", "Database", "HubCustomer"]
