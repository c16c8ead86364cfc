"""In-app notifications, notification preferences and webhook subscriptions."""
