"""crm-ml: turn CRM exports into churn, propensity, CLV, recommendations and reports."""

__version__ = "0.1.0"
