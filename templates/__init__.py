"""The page's Jinja template: installed as the data package `app.templates`."""
