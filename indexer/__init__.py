"""Indexer: reads documents, finds their paragraphs, embeds them, writes the index."""
