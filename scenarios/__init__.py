"""The preset scenarios: installed as the data package `app.scenarios` (read by app/presets.py)."""
