"""Who is asking: sign-in, API tokens and the one access policy."""
