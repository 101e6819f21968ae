"""Rich rendering for every command: tables, panels and width rules."""
