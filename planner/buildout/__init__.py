"""Multi-period buildout: what to buy each period as demand grows and power comes online."""
