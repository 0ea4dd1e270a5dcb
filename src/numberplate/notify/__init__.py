"""Notifications of stored reads: webhooks queued in the read's own transaction (an outbox) and POSTed later."""
