"""The only package that talks to AWS: one call loop (retries, error kinds), the
service gateways, and one factory for sessions, clients and their configuration."""
