"""Judging debtors from their own record: why a customer does not pay, and what to do about it."""
