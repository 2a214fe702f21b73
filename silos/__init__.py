"""Simulated upstream systems (ERP, accounting, support desk, marketing) that feed crmhub in demos, tests and
benchmarks. Each silo is generated deterministically from a size and a seed."""
