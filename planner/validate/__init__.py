"""Fleet validation: replay demand against a plan in SimPy, with failures and queues."""
