"""Where the money goes, by actual provider: ranges, aggregates, recommendations."""
