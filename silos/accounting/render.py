"""The accounting product's JSON shapes for customers, invoices and payments."""

from __future__ import annotations

from typing import Any

from .data import AccountingData, Customer, Invoice, Payment, books_time, currency_ref


def _amount(cents: int) -> float:
    # The product sends money as JSON numbers; cents / 100 is the double nearest the decimal amount.
    return cents / 100


def _metadata(record: Customer | Invoice | Payment) -> dict[str, str]:
    return {"CreateTime": books_time(record.created), "LastUpdatedTime": books_time(record.updated)}


def customer_json(customer: Customer) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Taxable": False,
        "Job": False,
        "BillWithParent": False,
        "Balance": _amount(customer.balance_cents),
        "BalanceWithJobs": _amount(customer.balance_cents),
        "CurrencyRef": currency_ref(customer.currency),
        "PreferredDeliveryMethod": "Email" if customer.email else "Print",
        "domain": "QBO",
        "sparse": False,
        "Id": str(customer.id),
        "SyncToken": "0",
        "MetaData": _metadata(customer),
        "FullyQualifiedName": customer.display_name,
        "CompanyName": customer.company_name,
        "DisplayName": customer.display_name,
        "PrintOnCheckName": customer.company_name,
        "Active": True,
    }
    if customer.given_name:
        body["GivenName"] = customer.given_name
    if customer.family_name:
        body["FamilyName"] = customer.family_name
    if customer.phone:
        body["PrimaryPhone"] = {"FreeFormNumber": customer.phone}
    if customer.email:
        body["PrimaryEmailAddr"] = {"Address": customer.email}
    if customer.website:
        body["WebAddr"] = {"URI": customer.website}
    address = {
        "Id": str(customer.id + 100),
        "Line1": customer.line1,
        "City": customer.city,
        "CountrySubDivisionCode": customer.region,
        "PostalCode": customer.postal_code,
        "Country": customer.country,
    }
    body["BillAddr"] = {key: value for key, value in address.items() if value}
    if customer.erp_code:
        body["Notes"] = f"ERP:{customer.erp_code}"
    return body


def _customer_ref(data: AccountingData, customer_id: int) -> dict[str, str]:
    customer = data.customer(customer_id)
    return {"value": str(customer_id), "name": customer.display_name if customer else ""}


def invoice_json(data: AccountingData, invoice: Invoice) -> dict[str, Any]:
    customer = data.customer(invoice.customer_id)
    description = f"Order {invoice.order_number}" if invoice.order_number else "Services"
    body: dict[str, Any] = {
        "AllowIPNPayment": False,
        "AllowOnlinePayment": False,
        "domain": "QBO",
        "sparse": False,
        "Id": str(invoice.id),
        "SyncToken": "0",
        "MetaData": _metadata(invoice),
        "DocNumber": invoice.doc_number,
        "TxnDate": invoice.txn_date.isoformat(),
        "CurrencyRef": currency_ref(invoice.currency),
        "LinkedTxn": [{"TxnId": str(pid), "TxnType": "Payment"} for pid in invoice.payment_ids],
        "Line": [
            {
                "Id": "1",
                "LineNum": 1,
                "Description": description,
                "Amount": _amount(invoice.total_cents),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "1", "name": "Sales"},
                    "UnitPrice": _amount(invoice.total_cents),
                    "Qty": 1,
                },
            },
            {
                "Amount": _amount(invoice.total_cents),
                "DetailType": "SubTotalLineDetail",
                "SubTotalLineDetail": {},
            },
        ],
        "CustomerRef": _customer_ref(data, invoice.customer_id),
        "DueDate": invoice.due_date.isoformat(),
        "TotalAmt": _amount(invoice.total_cents),
        "Balance": _amount(invoice.balance_cents),
    }
    if invoice.order_number:
        body["PrivateNote"] = f"ERP order {invoice.order_number}"
    if customer is not None and customer.email:
        body["BillEmail"] = {"Address": customer.email}
    return body


def payment_json(data: AccountingData, payment: Payment) -> dict[str, Any]:
    return {
        "CustomerRef": _customer_ref(data, payment.customer_id),
        "TotalAmt": _amount(payment.total_cents),
        "UnappliedAmt": 0.0,
        "ProcessPayment": False,
        "domain": "QBO",
        "sparse": False,
        "Id": str(payment.id),
        "SyncToken": "0",
        "MetaData": _metadata(payment),
        "TxnDate": payment.txn_date.isoformat(),
        "CurrencyRef": currency_ref(payment.currency),
        "Line": [
            {"Amount": _amount(amount), "LinkedTxn": [{"TxnId": str(invoice_id), "TxnType": "Invoice"}]}
            for invoice_id, amount in payment.applied
        ],
    }


def record_json(data: AccountingData, entity: str, record: Any) -> dict[str, Any]:
    if entity == "Customer":
        return customer_json(record)
    if entity == "Invoice":
        return invoice_json(data, record)
    return payment_json(data, record)
