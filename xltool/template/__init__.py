"""Writing workbooks: the locked template, its parts, roster distribution, fill."""
