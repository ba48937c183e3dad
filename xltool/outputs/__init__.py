"""What the county hands on, computed from the archive: summary, publishable report, export."""
