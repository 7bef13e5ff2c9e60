"""What the console itself knows of the clinic: little, since a page shows the services'
business. Plain code, no Flask."""
