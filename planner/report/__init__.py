"""Self-contained HTML reports with embedded charts."""
