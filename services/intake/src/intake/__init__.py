"""DBT platform intake service."""
