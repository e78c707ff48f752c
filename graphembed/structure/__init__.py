"""Structural graph analytics: graphlet orbit counts and homomorphism sampling."""
