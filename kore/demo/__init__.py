"""Demo and benchmark data: the embedded runtime's demo organisation and the seeded ledgers."""
