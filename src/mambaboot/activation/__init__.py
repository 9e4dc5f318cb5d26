"""Entering an environment: the activation model and the per-shell scripts."""
