"""Articles in, passages out: sources -> cleaning -> splitting -> index -> search."""
