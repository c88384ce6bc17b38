"""Tenant state: one bank of one workspace, built from its scenario over a store."""
