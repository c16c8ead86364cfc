"""Knowledge base: articles, safe Markdown rendering and Chinese/English full-text search."""
