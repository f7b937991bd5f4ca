"""What a request may do: authentication, limits, cost and rate limit, admission, and how
refusals and failures are answered."""
