"""The event-table contract of SCHEMA.md and the reading of data folders."""
