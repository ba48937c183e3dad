"""Rules compiled twice (Python evaluator, Excel formulas), validation and issues."""
