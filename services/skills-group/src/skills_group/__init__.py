"""DBT platform skills-group service."""
