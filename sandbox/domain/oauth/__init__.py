"""The bank's OAuth 2.0 authorisation server as pure rules: clients, requests, codes, tokens."""
