"""Webhooks: subscriptions, the outbox the farm's events go into, and the sender that POSTs them signed."""
