"""Scoring with the registered champions, and the drift check of each refresh."""
