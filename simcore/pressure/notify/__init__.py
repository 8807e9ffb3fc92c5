"""The notification mechanisms that tell applications memory is running short, one module each."""
