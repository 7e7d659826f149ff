"""Resource namespaces of :class:`~flowapi.FlowSession` (one module each)."""
