"""Service: loads an index once and answers searches over HTTP and in-process."""
