"""Top-K sparse autoencoder."""
