"""A returned workbook into a report: safety gate, cell sources, recognition, coercion, feedback."""
