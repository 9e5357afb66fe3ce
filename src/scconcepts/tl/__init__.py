"""AnnData-in / AnnData-out tools: embed, train_sae, attribute, enrich, evaluate."""
