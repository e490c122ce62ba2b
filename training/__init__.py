"""Builds Pinpoint's default color and theme models from data this machine can generate."""
