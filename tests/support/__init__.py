"""Helpers shared by the tests: scripted peers, subprocess peers, leak probes, vectors."""
