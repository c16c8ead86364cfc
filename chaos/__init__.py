"""Fault drills: SIGKILL the servers under a mixed load, then prove nothing was lost or doubled."""
