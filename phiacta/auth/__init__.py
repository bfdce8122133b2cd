"""Who is calling and what they may do: API keys, scopes and rate limits."""
