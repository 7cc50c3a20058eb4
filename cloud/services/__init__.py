"""Business rules and transactions; controllers call these, these call repositories."""
