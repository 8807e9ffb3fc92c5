"""zonescope's thin adapters: the command line and the web dashboard around `simcore`."""
