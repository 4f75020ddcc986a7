"""Live sessions: a model talked to through a microphone and speakers, measured like an item."""
