"""What the schema says: schema files, dialect, model, field kinds, rules, layout, identity, roster."""
