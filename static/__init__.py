"""The page's static files (CSS, JavaScript): installed as the data package `app.static`."""
