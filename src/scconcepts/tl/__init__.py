"""AnnData-in / AnnData-out tools."""
