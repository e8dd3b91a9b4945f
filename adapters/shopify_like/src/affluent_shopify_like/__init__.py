"""affluent adapter for stores with Shopify-shaped REST payloads and webhooks."""
