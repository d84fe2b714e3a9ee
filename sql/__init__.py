"""Every hand-written SQL statement, migration, view and grant.

Read by the package as `syncer.sql` (this folder ships inside the wheel under that name).
"""
