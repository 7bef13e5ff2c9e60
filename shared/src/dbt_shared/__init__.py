"""Common platform code shared by every DBT platform service."""
