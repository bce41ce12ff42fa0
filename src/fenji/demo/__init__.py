"""Demo and benchmark data: a realistic, deterministic generator of canonical input files."""
