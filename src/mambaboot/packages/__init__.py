"""Package archives: fetching, reading, the safety rules and vetting before any link."""
