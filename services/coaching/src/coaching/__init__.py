"""DBT platform coaching service."""
