"""How the accounting API's Customer, Invoice and Payment objects map onto the canonical entities."""

from __future__ import annotations

from adapters.sdk import Entity, EntityMapping

#: Filled by the adapter from ``Line[].LinkedTxn[]``: the invoices a payment settles.
LINKED_INVOICES = "_linked_invoice_ids"

CUSTOMER = EntityMapping(
    Entity.CUSTOMER,
    {
        "external_id": "Id",
        "name": "DisplayName",
        "legal_name": "CompanyName",
        "email": "PrimaryEmailAddr.Address",
        "phone": "PrimaryPhone.FreeFormNumber",
        "website": "WebAddr.URI",
        "address.street": "BillAddr.Line1",
        "address.city": "BillAddr.City",
        "address.region": "BillAddr.CountrySubDivisionCode",
        "address.postal_code": "BillAddr.PostalCode",
        "address.country": "BillAddr.Country",
        "created_at": "MetaData.CreateTime",
        "updated_at": "MetaData.LastUpdatedTime",
    },
)

INVOICE = EntityMapping(
    Entity.INVOICE,
    {
        "external_id": "Id",
        "customer_external_id": "CustomerRef.value",
        "number": "DocNumber",
        "issued_at": "TxnDate",
        "due_at": "DueDate",
        "total": "TotalAmt",
        "balance": "Balance",
        "currency": "CurrencyRef.value",
        "updated_at": "MetaData.LastUpdatedTime",
    },
    relations=frozenset({"customer_external_id"}),
)

PAYMENT = EntityMapping(
    Entity.PAYMENT,
    {
        "external_id": "Id",
        "customer_external_id": "CustomerRef.value",
        "paid_at": "TxnDate",
        "amount": "TotalAmt",
        "currency": "CurrencyRef.value",
        "invoice_external_ids": LINKED_INVOICES,
        "updated_at": "MetaData.LastUpdatedTime",
    },
    relations=frozenset({"customer_external_id"}),
)
