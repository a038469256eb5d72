"""The three AWS Lambda functions, one module each, thin adapters over the engine."""
