"""DBT platform staff console: a backend-for-frontend over the four services."""
