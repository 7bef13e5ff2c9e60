"""DBT platform notifications service."""
