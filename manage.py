#!/usr/bin/env python
"""Django's manage.py, for developers; users run the ``huikuan`` command instead."""

from huikuan.cli import main

if __name__ == "__main__":
    main()
