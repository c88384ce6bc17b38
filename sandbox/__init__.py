"""The credit-union bank sandbox: a mock of a Japanese credit union's bank API."""

__version__ = "0.1.0"
