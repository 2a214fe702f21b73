"""End to end over the demo silos: the accounting, support and marketing silos served over HTTP and read by
their adapters next to the ERP, resolved into the hub database and scored against the silos' ground truth."""

from __future__ import annotations

from bench.identity import evaluate_demo


async def test_demo_silos_resolve_into_complete_customer_360s() -> None:
    result = await evaluate_demo(100, seed=42)
    metrics = result["metrics"]
    assert metrics.f1 >= 0.97, metrics.summary()
    assert metrics.precision >= 0.97, metrics.summary()
    # Every ERP customer's 360 holds the accounting, support and marketing records the ground truth gives it.
    assert result["erp_customers_checked"] == 100
    assert result["complete_360"] == 100
    report = result["report"]
    assert (
        report.records_read["support.customer"] > 0 and report.records_read["marketing.marketing_member"] > 0
    )
