"""Rules files: YAML with positions, parameters, the merged rule set."""
