"""Debtor classifications, playbooks and scripts."""
