"""Context attribution: how much each retrieved document counted for an answer."""
