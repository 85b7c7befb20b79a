"""Imports every architecture module so that its builders register themselves.

Add one line here per new architecture module.
"""
