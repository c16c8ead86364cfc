"""Follow-up plans over HTTP."""
